"""Wall time of a small RD sweep with and without Ray on this machine, and Ray's overhead per task.

    python scripts/bench_cluster.py                      # 2 clips x 3 methods x 3 points (a few minutes)
    python scripts/bench_cluster.py --steps 200 --frames 16

The sweep runs once locally (points one after another) and once through a local Ray runtime
(``--ray-cpus`` tasks at once), each into its own output folder; the figures of the two must agree.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from eval.cluster import RayExecutor, task_overhead
from eval.datasets import folder_sources, prepare
from eval.methods import InrvOptions, get_methods
from eval.sweep import SweepConfig, run_sweep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", default="carphone:2,bikes:4", help="CLIP:SCALE, comma-separated")
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--methods", default="nerv,x264-medium,x265-medium")
    ap.add_argument("--points", type=int, default=3)
    ap.add_argument("--steps", type=int, default=100, help="training steps of the inrv points")
    ap.add_argument("--ray-cpus", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sequences = []
        for item in args.clips.split(","):
            name, _, scale = item.partition(":")
            (source,) = folder_sources(files=[name])
            sequences.append(prepare(source, frames=args.frames, scale=float(scale or 1), cache_dir=work / "src"))
        methods = get_methods(args.methods, InrvOptions(steps=args.steps, device="cpu"))
        walls = {}
        for label in ("local", "ray"):
            executor = RayExecutor(None, num_cpus=args.ray_cpus) if label == "ray" else None
            config = SweepConfig(out=work / label, dataset="folder", points=args.points, progress=False)
            start = time.perf_counter()
            outcome = run_sweep(sequences, methods, config, executor=executor)
            walls[label] = (time.perf_counter() - start, outcome.ran, len(outcome.failed))
        overhead = task_overhead()
    points = walls["local"][1]
    print(f"sweep: {len(sequences)} clips x {len(methods)} methods x {args.points} points = {points} points "
          f"({', '.join(f'{s.name} {s.width}x{s.height}' for s in sequences)}, {args.frames} frames, "
          f"inrv {args.steps} steps)")
    for label, (wall, ran, failed) in walls.items():
        print(f"{label:<6} {wall:>8.1f} s wall, {ran} points, {failed} failed")
    print(f"Ray: {walls['local'][0] / walls['ray'][0]:.2f}x faster with {args.ray_cpus} tasks at once; "
          f"overhead per task (empty task round trip) {1000 * overhead:.1f} ms")


if __name__ == "__main__":
    main()
