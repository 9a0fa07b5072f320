"""Rate control measured (``scripts/bench_ratecontrol.py``): each clip encoded with
``--target-bpp`` and ``--target-psnr`` targets (:mod:`codec.ratecontrol`), one CPU thread per
encode, and what the file hit: asked, hit, the miss (relative for bpp, dB for PSNR), the level
chosen, the probes and the seconds spent in probes and in all. Points are appended to a JSON-lines
file as they finish (running the command again resumes). Nothing here is asserted: it prints.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import codec
from codec.config import EncodeConfig
from eval.rd_bench import ClipSpec, prepare_clips


@dataclass(frozen=True)
class TargetPoint:
    clip: str
    family: str
    target: str
    asked: float
    hit: float
    miss: float
    quality: float
    probes: int
    passes: int
    probe_s: float
    total_s: float
    bpp: float
    psnr: float


def parse_targets(text: str) -> list[tuple[str, float]]:
    """``"bpp=0.05,psnr=30"`` -> ``[("bpp", 0.05), ("psnr", 30.0)]``."""
    out = []
    for item in text.split(","):
        kind, _, value = item.partition("=")
        if kind not in ("bpp", "psnr") or not value:
            raise ValueError(f"--targets: {item!r} is not bpp=B or psnr=D")
        out.append((kind, float(value)))
    return out


def load(path: Path) -> list[TargetPoint]:
    if not path.is_file():
        return []
    return [TargetPoint(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def run(clips: list[ClipSpec], families: list[str], targets: list[tuple[str, float]], results: Path,
        workdir: Path) -> list[TargetPoint]:
    """Every (clip, family, target) not yet in ``results``, appended there as it finishes."""
    workdir.mkdir(parents=True, exist_ok=True)
    results.parent.mkdir(parents=True, exist_ok=True)
    done = {(p.clip, p.family, p.target, p.asked) for p in load(results)}
    for spec, seq in zip(clips, prepare_clips(clips, workdir / "cache"), strict=True):
        for family in families:
            for kind, value in targets:
                if (spec.text, family, kind, value) in done:
                    continue
                config = EncodeConfig.of(model=family, threads=1, progress=False, **{f"target_{kind}": value})
                r = codec.encode(seq.path, workdir / "rc.inrv", config)
                rc = r.rate_control
                point = TargetPoint(spec.text, family, kind, value, rc.hit, rc.error, rc.quality, len(rc.probes),
                                    len(rc.passes), sum(p.seconds for p in rc.probes), rc.seconds, r.bpp,
                                    r.psnr_rgb)
                with open(results, "a") as f:
                    f.write(json.dumps(asdict(point)) + "\n")
                print(line(point), flush=True)
    return load(results)


def line(p: TargetPoint) -> str:
    miss = f"{p.miss:+.1%}" if p.target == "bpp" else f"{p.miss:+.2f} dB"
    return (f"{p.clip:<18} {p.family:<8} {p.target:<5} {p.asked:>8g} {p.hit:>9.4g} {miss:>9} {p.quality:>6.2f} "
            f"{p.probes:>3} {p.passes:>3} {p.probe_s:>7.0f} {p.total_s:>7.0f}")


def table(points: list[TargetPoint]) -> str:
    head = (f"{'clip':<18} {'family':<8} {'kind':<5} {'asked':>8} {'hit':>9} {'miss':>9} {'level':>6} "
            f"{'prb':>3} {'fit':>3} {'probe s':>7} {'total s':>7}")
    return "\n".join([head] + [line(p) for p in points])


def write_report(path: Path, points: list[TargetPoint], command: str) -> Path:
    """``report.md`` of the saved points (:mod:`eval.benchreport`): the table above."""
    from eval.benchreport import Section, write_report as write

    note = ("Each clip and family encoded with --target-bpp / --target-psnr, one CPU thread per encode; "
            "hit is the written file's bpp or its decoded PSNR-RGB; miss relative for bpp, dB for PSNR; "
            "level the fractional quality level chosen; prb, fit: probe fits and full fits; seconds of "
            "the probes and of the whole encode.")
    return write(path, "Rate control: targets asked against what the file hit", command,
                 [Section("Targets", table(points), note)])
