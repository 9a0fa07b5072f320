"""``inrv info``: a readable account of a ``.inrv`` file, every byte attributed.

:func:`describe_stream` reads the header, the chunk table and at most the chunks' heads: what it
does is in proportion to the file, never to what a header claims (a frame of 16384 x 16384 pixels
in 84 bytes). It states what decoding would need in memory (the family's figure) without
allocating it. The values themselves (shares of non-zero residuals) are decoded only with
``values`` (``inrv info --verify``), after the memory check; :func:`verify_stream` then checks
every chunk's CRC and decodes every frame.
"""

from __future__ import annotations

from collections import defaultdict

from bitstream import BitstreamError
from bitstream.records.kinds import CHUNK_NAMES
from codec.api import CodedVideo, MemoryLimit
from codec.errors import InrvError
from codec.memory import format_bytes, memory_limit


def _memory_line(coded: CodedVideo) -> str:
    """What decoding needs in memory against the limit, or why the decoder refuses the config."""
    try:
        need = coded.decode_memory()
    except (BitstreamError, InrvError) as exc:  # a config the decoder refuses, weights not installed
        return f"memory    decoding refused: {exc}"
    limit = memory_limit(coded.max_memory)
    verdict = ("no limit" if limit is None else f"limit {format_bytes(limit)}"
               + (": over it, --max-memory lifts it" if need > limit else ""))
    return f"memory    decoding needs about {format_bytes(need)} ({verdict})"


def describe_stream(path, values: bool = False, max_memory: MemoryLimit = "auto", name: str | None = None) -> str:
    """Header, model config, what decoding needs in memory, chunk table and bytes per part of the
    file at ``path``, and the family's tables of the chunks (``values``: with what needs the values
    decoded, refused over ``max_memory``). ``name``: what the first line calls the file (default:
    its path; ``inrv info -``: standard input)."""
    with CodedVideo(path, device="cpu", max_memory=max_memory) as coded:
        info = coded.info
        pixels = info.width * info.height * info.num_frames
        lines = [
            f"file      {name or info.path} ({info.file_bytes} bytes)",
            f"model     {info.model} (family id {info.family_id})",
            f"video     {info.width}x{info.height}, {info.num_frames} frames, {info.fps} fps "
            f"({float(info.fps):.3f})",
            f"bpp       {info.bpp:.5f}  (file bytes * 8 / {pixels} pixels)",
            "config    " + ", ".join(f"{k}={v}" for k, v in info.config.items()),
            _memory_line(coded),
            "",
            f"{'chunk':>5}  {'kind':<11} {'offset':>10} {'bytes':>10} {'bpp':>9}",
        ]
        per_kind: dict[str, int] = defaultdict(int)
        for c in coded.chunks:
            name = CHUNK_NAMES.get(c.kind, f"kind {c.kind}")
            per_kind[name] += c.total
            lines.append(f"{c.index:>5}  {name:<11} {c.offset:>10} {c.total:>10} "
                         f"{c.total * 8 / pixels:>9.5f}")
        lines += ["", "bytes per part:", f"  {'header':<11} {info.header_bytes:>10}"]
        for name, total in per_kind.items():
            lines.append(f"  {name:<11} {total:>10}")
        lines.append(f"  {'total':<11} {info.file_bytes:>10}")
        structure = coded.structure()
        if structure is not None:
            lines += ["", structure.table()]
        extra = coded.describe_chunks(values)
        if extra:
            lines += ["", extra]
        return "\n".join(lines)


def verify_stream(path, max_memory: MemoryLimit = "auto") -> str:
    """Every chunk's CRC checked and every frame decoded (``inrv info --verify``): a line saying
    so, or the stream's :class:`bitstream.BitstreamError`; a stream whose decoding needs more than
    ``max_memory`` is refused first (ConfigError), and running out of memory is one
    :class:`codec.errors.DecodeOutOfMemory`."""
    with CodedVideo(path, device="cpu", max_memory=max_memory) as coded:
        coded.check_memory()
        for index in range(len(coded.chunks)):
            coded.read_chunk(index)
        frames = sum(1 for _ in coded.frames(0, coded.info.num_frames))
        return f"verified: {len(coded.chunks)} chunks (CRC), {frames} frames decoded"
