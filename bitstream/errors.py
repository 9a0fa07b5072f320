"""The one exception raised for any malformed, truncated or hostile ``.inrv`` stream."""

from __future__ import annotations


class BitstreamError(ValueError):
    """A stream that cannot be read: bad magic, unknown version, damaged chunk, bad lengths...

    ``chunk`` (index) and ``offset`` (absolute byte offset in the file) say where, when known.
    """

    def __init__(self, message: str, *, chunk: int | None = None, offset: int | None = None) -> None:
        self.chunk = chunk
        self.offset = offset
        where = []
        if chunk is not None:
            where.append(f"chunk {chunk}")
        if offset is not None:
            where.append(f"offset {offset}")
        super().__init__(f"{message} ({', '.join(where)})" if where else message)
