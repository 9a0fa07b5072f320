"""What each option of a family is worth: the logic behind ``scripts/bench_variants.py``.

Each *variant* is a set of encode options (``sft``, ``nervpp``, ``loss=l1-ssim-fft``, ...), on top
of options common to all (a variant's win). Every variant encodes the clip at the same lambdas
under the same ``--time-budget`` (equal encode time, one CPU thread), the same ``--steps``, or the
family's own training length; the report gives each point (file bpp, PSNR-RGB of the decoded file,
steps done, seconds) and each variant's BD-rate against the first (the plain family). Points are
appended to ``points.jsonl`` in the work folder as they finish, and a run with the same clip,
lambdas, limits and options reuses them (runs resume). Nothing here is asserted: it prints.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from codec.config import EncodeConfig
from eval import codec_bench as cb
from eval.datasets import folder_sources, prepare


def _value(text: str) -> int | float | str:
    """An option's value from the command line: an integer, a number, else the string."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_variants(text: str) -> list[tuple[str, dict]]:
    """``"plain=;sft=sft;fft=loss:l1-ssim-fft;all=sft,nervpp"`` -> [(name, options)]: a bare name
    is a switch set to true, ``key:value`` an option (an integer or a number where it reads as one)."""
    out = []
    for item in text.split(";"):
        name, _, spec = item.partition("=")
        options: dict = {}
        for part in filter(None, spec.split(",")):
            key, sep, value = part.partition(":")
            options[key.replace("-", "_")] = _value(value) if sep else True
        out.append((name.strip(), options))
    return out


def run(family: str, clip: tuple, variants: list[tuple[str, dict]], lambdas: list[float],
        workdir: Path, time_budget: float | None = None, steps: int | None = None, device: str = "cpu",
        base: dict | None = None) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    name, frames, *rest = clip
    seq = prepare(folder_sources(files=[name])[0], frames=frames, scale=rest[0] if rest else 1.0,
                  cache_dir=workdir / "cache")
    limits = {k: v for k, v in (("time_budget", time_budget), ("steps", steps)) if v is not None}
    print(f"== {family} on {Path(name).stem}: {seq.num_frames} frames of {seq.width}x{seq.height}, "
          f"{', '.join(f'{k} {v}' for k, v in limits.items()) or 'the family’s own training length'}, "
          "one thread ==", flush=True)
    curves: dict[str, list[cb.RDPoint]] = {}
    saved = workdir / "points.jsonl"
    done = {}
    if saved.exists():
        for line in saved.read_text().splitlines():
            entry = json.loads(line)
            done[entry["key"]] = cb.RDPoint(**entry["point"])
    for label, options in variants:
        curves[label] = []
        for lmbda in lambdas:
            chosen = {**(base or {}), **options}  # a variant's options win over the common ones
            config = EncodeConfig.of(model=family, count=seq.num_frames, device=device, threads=1, progress=False,
                                     lmbda=lmbda, **limits, **chosen)
            key = json.dumps([family, seq.path.name, lmbda, limits, sorted(chosen.items())])
            if key in done:  # the same encode, done by an earlier run (runs resume)
                p = done[key]
            else:
                out = workdir / f"{family}_{label}_{lmbda:g}.inrv"
                p = cb.encode_point(seq.path, out, config, f"{label} l{lmbda:g}")
                with saved.open("a") as f:
                    f.write(json.dumps({"key": key, "point": asdict(p)}) + "\n")
            curves[label].append(p)
            print(f"  {label:<10} lambda {lmbda:<8g} {p.bpp:.4f} bpp {p.psnr_rgb:6.2f} dB {p.steps:>6} steps "
                  f"{p.encode_s:7.1f} s", flush=True)
    anchor = variants[0][0]
    print(f"\nBD-rate (PSNR-RGB) against {anchor}:")
    report: dict = {"family": family, "clip": f"{Path(name).stem}:{seq.num_frames}", "limits": limits,
                    "variants": {}}
    for label, points in curves.items():
        text = "-" if label == anchor else cb.bd_rate_text(curves[anchor], points)
        best = max(points, key=lambda p: p.psnr_rgb)
        print(f"  {label:<10} {text:<28} best {best.psnr_rgb:6.2f} dB at {best.bpp:.4f} bpp, "
              f"{sum(p.steps for p in points) / len(points):7.0f} steps on average")
        report["variants"][label] = {"bd_rate": text, "points": [asdict(p) for p in points]}
    return report


def table(report: dict) -> str:
    """One saved :func:`run` report as text: each variant's points (bpp, PSNR-RGB, steps at each lambda)
    and its BD-rate against the first variant."""
    limits = (", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in report["limits"].items())
              or "the family's own training length")
    first = next(iter(report["variants"].values()))["points"]
    lambdas = " / ".join(p["label"].rpartition(" l")[2] for p in first)  # labels are "<variant> l<lambda>"
    lines = [f"{report['family']} on {report['clip']}, {limits}, one thread, lambdas {lambdas}",
             f"{'variant':<10} {'bpp':<24} {'PSNR-RGB (dB)':<24} {'steps':<20} BD-rate"]
    for label, variant in report["variants"].items():
        points = variant["points"]
        bpp = " / ".join(f"{p['bpp']:.3f}" for p in points)
        psnr = " / ".join(f"{p['psnr_rgb']:.2f}" for p in points)
        steps = " / ".join(str(p["steps"]) for p in points)
        lines.append(f"{label:<10} {bpp:<24} {psnr:<24} {steps:<20} {variant['bd_rate']}")
    return "\n".join(lines)


def write_report(folder: Path, command: str) -> Path:
    """``folder/report.md`` (:mod:`eval.benchreport`) of every saved report (``*.json``) in ``folder``."""
    import json

    from eval.benchreport import Section, write_report as write

    note = ("Every variant encodes the clip at the same lambdas (in the order of the points) with the same "
            "encode time or steps; bpp is the file's, PSNR-RGB measured on the decoded file; BD-rate on "
            "PSNR-RGB against the first variant (n/a where the PSNR ranges do not overlap or a curve does "
            "not rise).")
    sections = [Section(path.stem, table(json.loads(path.read_text())), note)
                for path in sorted(folder.glob("*.json"))]
    return write(folder / "report.md", "What each option is worth: the variant benches", command, sections)
