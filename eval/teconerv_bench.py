"""The TeCoNeRV benchmark behind ``scripts/bench_teconerv.py``, on the evaluation clips (never
trained on): rate, quality and encode time of the forward pass and of each ``--finetune``
setting, against the fitted families at matched PSNR; BD-rates; what residual coding, the
coherence stage and the seam layout are each worth; the pretraining throughput.

Every rate is a written file's size and every quality is measured on frames decoded from it
(:func:`eval.codec_bench.encode_point`); nothing here is asserted.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

import codec
from codec.config import EncodeConfig
from codec.video import open_video
from eval import codec_bench as cb
from eval.datasets import folder_sources, prepare

#: teconerv's goal (docs/teconerv.md): at least this many times faster than the fastest fitted family ...
SPEED_GOAL = 100.0
#: ... at no more than this many dB lower PSNR.
PSNR_SLACK = 1.5


def teconerv_config(args, count: int, quality: int, finetune: int = 0, **extra) -> EncodeConfig:
    return EncodeConfig.of(model="teconerv", quality=quality, count=count, device=args.device, threads=1,
                           progress=False, finetune=finetune, **extra)


def fitted_config(args, family: str, count: int, quality: int, steps: int) -> EncodeConfig:
    return EncodeConfig.of(model=family, quality=quality, count=count, device=args.device, threads=1,
                           progress=False, steps=steps)


def seam_psnr(src: Path, path: Path, band: int = 2) -> tuple[float, float]:
    """PSNR-RGB over the pixels within ``band`` of a tubelet edge of the pad layout (every
    multiple of the tubelet size), and over the rest."""
    with codec.open(path, device="cpu") as coded, open_video(src) as ref:
        decoded = np.stack(list(coded.frames())).astype(np.float64)
        reference = ref.read(0, len(decoded)).astype(np.float64)
        th, tw = coded.config.tile_h, coded.config.tile_w
    h, w = decoded.shape[1:3]
    ys, xs = np.arange(h) % th, np.arange(w) % tw
    mask = ((ys < band) | (ys >= th - band))[:, None] | ((xs < band) | (xs >= tw - band))[None, :]
    mask[:band], mask[h - band:], mask[:, :band], mask[:, w - band:] = False, False, False, False  # frame borders
    err = (decoded - reference) ** 2

    def psnr(m: np.ndarray) -> float:
        return float(10 * np.log10(255.0**2 / max(err[:, m].mean(), 1e-10)))

    return psnr(mask), psnr(~mask)


def pretrain_throughput(log: Path) -> str:
    """Throughput and training PSNR of each part of a pretraining log: a part ends where the stage
    or the process count changes, or where a resumed run starts its clock again."""
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    if not rows:
        return f"{log}: empty"
    parts: list[list[dict]] = []
    for r in rows:
        last = parts[-1][-1] if parts else None
        if last is None or (r["stage"], r["world"]) != (last["stage"], last["world"]) or r["seconds"] < last["seconds"]:
            parts.append([])
        parts[-1].append(r)
    lines = [f"pretraining ({log}): tubelets/s (stage 2: segments of pairs) at the end of each part"]
    for rs in parts:
        lines.append(f"  steps {rs[0]['step']:>6}..{rs[-1]['step']:<6} stage {rs[0]['stage']}, {rs[0]['world']} "
                     f"process(es): {rs[-1]['tubelets_per_s']:>7.1f} tubelets/s, training PSNR "
                     f"{rs[-1]['psnr']:.2f} dB")
    return "\n".join(lines)


def run(args) -> dict:
    """Everything the script prints, per clip, and returned as a JSON-able report."""
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    report: dict = {"clips": {}}
    for name, frames in args.clips:
        source = folder_sources(files=[name])[0]
        seq = prepare(source, frames=frames, cache_dir=work / "cache")
        src, count = seq.path, seq.num_frames
        wd = work / f"{Path(name).stem}_{count}"
        wd.mkdir(exist_ok=True)
        print(f"\n== {Path(name).stem}: {count} frames of {seq.width}x{seq.height} ==", flush=True)
        tec = {ft: [cb.encode_point(src, wd / f"tec_q{q}_ft{ft}.inrv", teconerv_config(args, count, q, ft),
                                    f"q{q} ft{ft}") for q in args.qualities] for ft in args.finetune}
        fitted: dict[str, list[cb.RDPoint]] = {}
        speed: dict[str, list[cb.RDPoint]] = {}
        for fam in args.families:
            speed[fam] = [cb.encode_point(src, wd / f"{fam}_s{s}.inrv", fitted_config(args, fam, count, 4, s),
                                          f"q4 {s} steps") for s in args.fit_steps]
            rd_steps = args.fit_steps[-1]
            fitted[fam] = [p for p in speed[fam] if p.label == f"q4 {rd_steps} steps"]
            fitted[fam] += [cb.encode_point(src, wd / f"{fam}_q{q}.inrv", fitted_config(args, fam, count, q, rd_steps),
                                            f"q{q} {rd_steps} steps") for q in args.fit_qualities if q != 4]
        points = [p for pts in tec.values() for p in pts] + [p for pts in speed.values() for p in pts] + \
            [p for pts in fitted.values() for p in pts if p not in speed.get(p.family, [])]
        print(cb.rd_table(points))
        clip: dict = {"points": [asdict(p) for p in points]}
        print(f"\nencode time at matched PSNR (fitted families: the time to reach the teconerv point's PSNR "
              f"+ {PSNR_SLACK} dB, interpolated over {args.fit_steps} steps at q4):")
        print(f"{'teconerv point':<14} {'PSNR':>6} {'enc s':>7} " + " ".join(f"{f + ' s':>10} {'ratio':>7}"
                                                                         for f in args.families))
        rows = []
        for ft, pts in tec.items():
            for p in pts:
                cells, row = [], {"point": p.label, "psnr": p.psnr_rgb, "seconds": p.encode_s}
                for fam in args.families:
                    t = cb.needed_to_reach(speed[fam], p.psnr_rgb + PSNR_SLACK)
                    cells.append(f"{t:>10.1f} {t / p.encode_s:>6.0f}x" if t else f"{'not reached':>10} {'':>7}")
                    row[fam] = t
                rows.append(row)
                print(f"{p.label:<14} {p.psnr_rgb:>6.2f} {p.encode_s:>7.2f} " + " ".join(cells))
        clip["matched"] = rows
        print("\nBD-rate of teconerv (PSNR-RGB) against each fitted family's quality ladder at "
              f"{args.fit_steps[-1]} steps:")
        for ft, pts in tec.items():
            for fam, fpts in fitted.items():
                print(f"  finetune {ft:<4} vs {fam:<8} {cb.bd_rate_text(fpts, pts)}")
        clip.update(parts(args, src, count, wd))
        report["clips"][f"{Path(name).stem}:{count}"] = clip
    if args.pretrain_log:
        print("\n" + pretrain_throughput(Path(args.pretrain_log)))
    return report


def parts(args, src: Path, count: int, wd: Path) -> dict:
    """Residual vs direct coding, overlap vs pad, coherence stage on vs off, at ``args.parts_quality``."""
    q = args.parts_quality
    out: dict = {}
    residual = codec.encode(src, wd / f"tec_q{q}_res.inrv", teconerv_config(args, count, q))
    direct = codec.encode(src, wd / f"tec_q{q}_direct.inrv", teconerv_config(args, count, q, key_interval=1))
    first = residual.groups[0].bytes
    stored, alone = (sum(g.bytes for g in r.groups[1:]) for r in (residual, direct))
    print(f"\nlater segments (q{q}): {stored} bytes as residuals (closed loop), {alone} coded directly "
          f"(--key-interval 1): {stored / max(alone, 1):.1%}; first segment {first} bytes; "
          f"PSNR {residual.psnr_rgb:.2f} / {direct.psnr_rgb:.2f} dB")
    out["residual"] = {"first": first, "residual": stored, "direct": alone}
    print(f"\nseams (q{q}): layout, bpp, PSNR-RGB, PSNR within 2 px of a pad-layout tubelet edge, elsewhere")
    out["seams"] = {}
    for overlap in (0, 8, 16):
        path = wd / f"tec_q{q}_overlap{overlap}.inrv"
        r = codec.encode(src, path, teconerv_config(args, count, q, overlap=overlap))
        edge, rest = seam_psnr(src, path)
        label = "pad+crop" if overlap == 0 else f"overlap {overlap}"
        print(f"  {label:<11} {r.bpp:.4f} {r.psnr_rgb:6.2f} {edge:6.2f} {rest:6.2f}")
        out["seams"][label] = {"bpp": r.bpp, "psnr": r.psnr_rgb, "edge_psnr": edge, "rest_psnr": rest}
    if args.stage1_weights or args.stage2_weights:
        out["coherence"] = coherence(args, src, count, wd)
    return out


def coherence(args, src: Path, count: int, wd: Path) -> dict:
    """The coherence stage on vs off: the quality ladder with the weights from before it
    (``--stage1-weights``) and after it (``--stage2-weights``; either defaults to the shipped
    weights): bpp, PSNR-RGB, bytes of the later segments, and the BD-rate of the second
    against the first."""
    print("\ncoherence stage: quality, bpp, PSNR-RGB, later segments' bytes")
    ladders: dict[str, list[cb.RDPoint]] = {}
    out: dict = {}
    for label, weights in (("stage 1", args.stage1_weights), ("stage 2", args.stage2_weights)):
        ladders[label], rows = [], []
        for q in args.qualities:
            path = wd / f"tec_q{q}_{label.replace(' ', '')}.inrv"
            point = cb.encode_point(src, path, teconerv_config(args, count, q, weights=weights), f"q{q} {label}")
            with codec.open(path, device="cpu") as coded:
                later = sum(c.total for c in coded.chunks[1:])
            ladders[label].append(point)
            rows.append({"quality": q, "bpp": point.bpp, "psnr": point.psnr_rgb, "later": later})
            print(f"  {label:<8} q{q}  {point.bpp:.4f} {point.psnr_rgb:6.2f} {later:>8}")
        out[label] = rows
    text = cb.bd_rate_text(ladders["stage 1"], ladders["stage 2"])
    print(f"  BD-rate of the stage-2 weights against the stage-1 weights: {text}")
    out["bd_rate"] = text
    return out
