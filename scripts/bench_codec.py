"""NeRV / HNeRV on carphone: RD sweeps, BD-rates, quantization in training vs after, speed.

    python scripts/bench_codec.py                      # the default run (tens of minutes on 2 cores)
    python scripts/bench_codec.py --frames 32 --steps 300 --lambdas 2e-2,5e-3,1e-3,2e-4

Prints tables; the numbers come from written files decoded back (see eval/codec_bench.py).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from codec.config import EncodeConfig
from codec.registry import families_declaring
from codec.video import sample_clip
from eval import codec_bench as cb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", default="32,120", help="clip lengths to sweep (comma list)")
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--preset", default="s")
    ap.add_argument("--lambdas", default="3e-2,7e-3,1.7e-3,4e-4")
    ap.add_argument("--families", default="nerv,hnerv")
    ap.add_argument("--ptq-presets", default="xs,s,m", help="sizes for the QAT vs 8-bit PTQ curves")
    ap.add_argument("--ptq-quality", type=int, default=6, help="quality of the QAT side of that test")
    ap.add_argument("--skip-ptq", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()

    src = sample_clip("carphone")
    lambdas = [float(x) for x in args.lambdas.split(",")]
    families = args.families.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for n in (int(x) for x in args.frames.split(",")):
            print(f"\n== carphone 176x144, {n} frames, {args.steps} steps, preset {args.preset} ==")
            curves = {}
            for fam in families:
                base = EncodeConfig.of(model=fam, count=n, steps=args.steps, preset=args.preset,
                                       device=args.device, progress=False)
                curves[fam] = cb.rd_sweep(src, work, base, lambdas)
                print(cb.rd_table(curves[fam]))
                print(f"{fam}: monotone in rate and quality: {cb.is_monotone(curves[fam])}")
            if "nerv" in curves and "hnerv" in curves:
                print(f"BD-rate hnerv vs nerv (PSNR-RGB): {cb.bd_rate_text(curves['nerv'], curves['hnerv'])}")
            if not args.skip_ptq and n == min(int(x) for x in args.frames.split(",")):
                presets = args.ptq_presets.split(",")
                for fam in families:
                    if fam not in families_declaring("post_quant_bits"):
                        print(f"{fam}: no 8-bit post-training baseline (the family takes no --post-quant)")
                        continue
                    base = EncodeConfig.of(model=fam, count=n, steps=args.steps, quality=args.ptq_quality,
                                           device=args.device, progress=False)
                    qat = cb.size_sweep(src, work, base, presets, "qat")
                    ptq_base = EncodeConfig.of(model=fam, count=n, steps=args.steps, post_quant_bits=8,
                                               device=args.device, progress=False)
                    ptq = cb.size_sweep(src, work, ptq_base, presets, "ptq8")
                    print(cb.rd_table(qat + ptq))
                    print(f"{fam}: BD-rate of quantization in training vs 8-bit after training: "
                          f"{cb.bd_rate_text(ptq, qat)}")
    if not args.skip_speed:
        print("\n== speed on this machine (CPU unless --device) ==")
        print(f"{'family':<7} {'size':<9} {'bytes':>8} {'train frame-steps/s':>20} {'decode fps':>11} "
              f"{'GFLOP/frame':>12} {'GFLOP/s':>8}")
        with tempfile.TemporaryDirectory() as tmp:
            for clip, count in (("carphone", 8), ("bikes", 8)):
                for fam in families:
                    r = cb.speed(fam, sample_clip(clip), count, Path(tmp), args.preset, device=args.device)
                    print(f"{r.family:<7} {r.width}x{r.height:<5} {r.file_bytes:>8} {r.train_frame_steps_per_s:>20.1f} "
                          f"{r.decode_fps:>11.1f} {r.gflop_per_frame:>12.3f} {r.gflops_achieved:>8.1f}")


if __name__ == "__main__":
    main()
