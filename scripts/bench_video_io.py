"""Benchmark streamed video reading: peak memory growth and throughput.

Writes a synthetic 1920x1080, 60-frame raw I420 file with a UVG-style name in a temporary folder
(and, unless ``--no-ffmpeg``, the same clip as x264 ``.mp4``), then reads each end to end with
``open_video(...).iter_chunks`` in a fresh subprocess, as RGB and as YUV, and prints the peak RSS
growth over the reader's starting RSS (``ru_maxrss``) and the throughput. Goal: growth < 200 MB.

    python scripts/bench_video_io.py [--frames 60] [--chunk 8] [--no-ffmpeg]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

WIDTH, HEIGHT = 1920, 1080


def synthetic_frame(i: int) -> np.ndarray:
    """A moving gradient with some texture, uint8 RGB (H, W, 3)."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.uint16)
    return np.stack([(xx + 4 * i) % 256, (yy + 2 * i) % 256, ((xx ^ yy) + i) % 256], axis=-1).astype(np.uint8)


def make_clips(folder: Path, frames: int, with_mp4: bool) -> list[Path]:
    """Write the raw clip frame by frame (small memory), and an mp4 of it through ffmpeg."""
    from codec.video import VideoWriter
    from codec.video.ffmpeg import FfmpegProcess

    raw = folder / f"Synthetic_{WIDTH}x{HEIGHT}_120fps_420_8bit_YUV.yuv"
    with VideoWriter(raw, width=WIDTH, height=HEIGHT, fps=120) as writer:
        for i in range(frames):
            writer.write(synthetic_frame(i))
    clips = [raw]
    if with_mp4:
        mp4 = folder / "synthetic.mp4"
        args = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{WIDTH}x{HEIGHT}", "-r", "120", "-i", str(raw),
                "-c:v", "libx264", "-preset", "ultrafast", "-crf", "20", str(mp4)]  # fmt: skip
        with FfmpegProcess(args, what="bench mp4") as proc:
            proc.finish(timeout=600)
        clips.append(mp4)
    return clips


def current_rss_kb() -> int:
    """Resident set size now, in KiB (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024


def measure(path: str, chunk: int, yuv: bool) -> dict:
    """Read the whole clip in chunks (run in a fresh process); peak RSS growth and speed."""
    from codec.video import open_video

    with open_video(path) as video:
        info = video.info  # frame counting (ffmpeg) is outside the timed loop
        start_rss = current_rss_kb()
        t0 = time.perf_counter()
        frames = 0
        for block in video.iter_chunks(chunk=chunk, yuv=yuv):
            frames += len(block)
        seconds = time.perf_counter() - t0
    peak_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start_rss) / 1024
    frame_mb = WIDTH * HEIGHT * 1.5 / 1e6
    return {
        "file": Path(path).name, "kind": info.kind, "as": "yuv" if yuv else "rgb", "frames": frames,
        "seconds": round(seconds, 2), "fps": round(frames / seconds, 1),
        "MB_per_s_yuv420": round(frames * frame_mb / seconds, 1), "peak_growth_MB": round(peak_growth_mb, 1),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--chunk", type=int, default=8)
    parser.add_argument("--no-ffmpeg", action="store_true", help="skip the mp4 part")
    parser.add_argument("--measure", nargs=2, metavar=("PATH", "AS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], args.chunk, args.measure[1] == "yuv")))
        return
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        clips = make_clips(Path(tmp), args.frames, not args.no_ffmpeg)
        print(f"wrote {', '.join(c.name for c in clips)} in {time.perf_counter() - t0:.1f} s")
        for clip in clips:
            for mode in ("rgb", "yuv"):
                cmd = [sys.executable, __file__, "--chunk", str(args.chunk), "--measure", str(clip), mode]
                out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                result = json.loads(out.strip().splitlines()[-1])
                verdict = "ok" if result["peak_growth_MB"] < 200 else "OVER 200 MB"
                print(json.dumps(result), verdict)


if __name__ == "__main__":
    main()
