"""``inrv info``: a readable account of a ``.inrv`` file, every byte attributed."""

from __future__ import annotations

from collections import defaultdict

from bitstream.records.kinds import CHUNK_NAMES
from codec.api import CodedVideo


def describe_stream(path) -> str:
    """Header, model config, chunk table and bytes per part of the file at ``path``."""
    with CodedVideo(path, device="cpu") as coded:
        info = coded.info
        pixels = info.width * info.height * info.num_frames
        lines = [
            f"file      {info.path} ({info.file_bytes} bytes)",
            f"model     {info.model} (family id {info.family_id})",
            f"video     {info.width}x{info.height}, {info.num_frames} frames, {info.fps} fps "
            f"({float(info.fps):.3f})",
            f"bpp       {info.bpp:.5f}  (file bytes * 8 / {pixels} pixels)",
            "config    " + ", ".join(f"{k}={v}" for k, v in info.config.items()),
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
        extra = coded.describe_chunks()
        if extra:
            lines += ["", extra]
        return "\n".join(lines)


def verify_stream(path) -> str:
    """Every chunk's CRC checked and every frame decoded (``inrv info --verify``): a line saying
    so, or the stream's :class:`bitstream.BitstreamError`."""
    with CodedVideo(path, device="cpu") as coded:
        for index in range(len(coded.chunks)):
            coded.read_chunk(index)
        frames = sum(len(chunk) for chunk in coded.decoder.render(0, coded.info.num_frames))
        return f"verified: {len(coded.chunks)} chunks (CRC), {frames} frames decoded"
