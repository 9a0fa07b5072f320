"""The grid family's own measurements (docs/grid.md): decoder cost, training speed against hnerv, and the
context schemes (checkerboard against causal).

    python scripts/bench_grid.py                       # all three, about 15 minutes on one thread
    python scripts/bench_grid.py --skip-speed --skip-schemes

* Decoder cost: multiply-adds per pixel of grid's default config on each clip, counted from the
  network shapes (synthesis, trilinear upsampling at 8 per level, context networks per latent).
* Speed (--speed-clip, default bikes:64): seconds per training step of grid (one group, its default
  crop) and of hnerv (the whole clip, batch 2, --hnerv-preset), one thread each, from the difference
  of two encodes' times (--steps SHORT,LONG), and the pixels each step trains.
* Schemes (--scheme-clip, default carphone:16): grid encoded with each context scheme at one lambda
  and step count; bytes of the file and of its latents, PSNR, and decode fps of the written file.

Rows are appended to --results (JSON lines) when given. The RD bench is scripts/bench_rd.py
--families grid. The logic is in eval/grid_bench.py.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from eval import grid_bench as gb
from eval.datasets import parse_clips
from eval.rd_bench import use_threads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cost-clips", default="carphone:120,bikes:64,bigbuckbunny:64/2")
    ap.add_argument("--speed-clip", default="bikes:64")
    ap.add_argument("--steps", default="10,40", help="SHORT,LONG training steps of the speed encodes")
    ap.add_argument("--hnerv-preset", default="s")
    ap.add_argument("--scheme-clip", default="carphone:16")
    ap.add_argument("--scheme-lmbda", type=float, default=2e-3)
    ap.add_argument("--scheme-steps", type=int, default=300)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-schemes", action="store_true")
    ap.add_argument("--results", type=Path, help="append the rows to this JSON-lines file")
    args = ap.parse_args()
    use_threads(1)
    rows: list = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print("decoder multiply-adds per pixel (grid defaults)")
        print(f"{'clip':<20} {'size':>9} {'total':>7} {'synth':>6} {'upsamp':>6} {'context':>7} {'latents/px':>10}")
        for spec, _, geometry in gb.sources(list(parse_clips(args.cost_clips)), work):
            c = gb.decoder_cost(spec.text, geometry, {})
            rows.append(c)
            print(f"{c.clip:<20} {c.width:>4}x{c.height:<4} {c.total:>7.0f} {c.synthesis:>6.0f} {c.upsampling:>6.0f} "
                  f"{c.context:>7.0f} {c.latents_per_pixel:>10.3f}")
        if not args.skip_speed:
            short, long = (int(x) for x in args.steps.split(","))
            [(spec, path, geometry)] = gb.sources(list(parse_clips(args.speed_clip)), work)
            print(f"\ntraining speed on {spec.text}, one thread")
            print(f"{'family':<7} {'s/step':>8} {'steps/s':>8} {'pixels/step':>12} {'Mpixel-steps/s':>15}")
            for family, frames, options in (("grid", 8, {}), ("hnerv", geometry.num_frames,
                                                               {"preset": args.hnerv_preset})):
                r = gb.step_rate(spec.text, path, family, min(frames, geometry.num_frames), options, short, long, work)
                rows.append(r)
                print(f"{family:<7} {r.seconds_per_step:>8.3f} {1 / r.seconds_per_step:>8.2f} "
                      f"{r.pixels_per_step:>12.0f} {r.pixel_steps_per_second / 1e6:>15.3f}")
        if not args.skip_schemes:
            [(spec, path, geometry)] = gb.sources(list(parse_clips(args.scheme_clip)), work)
            print(f"\ncontext schemes on {spec.text}, lambda {args.scheme_lmbda:g}, {args.scheme_steps} steps, "
                  "one thread")
            print(f"{'scheme':<13} {'bytes':>8} {'bpp':>8} {'PSNR':>7} {'latent bytes':>13} {'decode fps':>11}")
            for scheme in ("checkerboard", "causal"):
                p = gb.scheme_point(spec.text, path, scheme, geometry.num_frames, args.scheme_lmbda,
                                    args.scheme_steps, work)
                rows.append(p)
                print(f"{scheme:<13} {p.bytes:>8} {p.bpp:>8.4f} {p.psnr:>7.2f} {p.latent_bytes:>13} "
                      f"{p.decode_fps:>11.1f}")
    if args.results:
        gb.save(args.results, rows)


if __name__ == "__main__":
    main()
