"""Result files: one JSON per (dataset, sequence, method), written atomically after every point, and
one per (dataset, method) with the curve averaged over sequences.

Shape (every method's file, inrv and the anchors alike, as docs/eval.md describes it)::

    {"name": "x265-medium", "description": "...",
     "results": {"bpp": [...], "psnr-rgb": [...], "psnr-yuv": [...], "ms-ssim": [...],
                 "encode-s": [...], "decode-s": [...], "decode-fps": [...],
                 "encode-peak-mb": [...], "decode-peak-mb": [...], "bytes": [...]},
     "settings": [{"crf": 44}, ...], "extra": [{...}, ...],
     "dataset": "uvg", "sequence": {...}, "method": {...}}

Lists are index-aligned and sorted by rate. ``ms-ssim`` is ``null`` where frames are too small for it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from codec.errors import ConfigError

__all__ = ["PointResult", "SequenceResults", "METRIC_KEYS", "load", "save", "write_json", "average"]

#: results keys, in file order, with the PointResult attribute each comes from.
METRIC_KEYS: dict[str, str] = {
    "bpp": "bpp",
    "psnr-rgb": "psnr_rgb",
    "psnr-yuv": "psnr_yuv",
    "ms-ssim": "ms_ssim",
    "encode-s": "encode_s",
    "decode-s": "decode_s",
    "decode-fps": "decode_fps",
    "encode-peak-mb": "encode_peak_mb",
    "decode-peak-mb": "decode_peak_mb",
    "bytes": "num_bytes",
}


@dataclass(frozen=True)
class PointResult:
    """One rate point of one method on one sequence. ``bpp`` = ``num_bytes * 8 / pixels``."""

    setting: dict
    num_bytes: int
    bpp: float
    psnr_rgb: float
    psnr_yuv: float
    ms_ssim: float | None
    encode_s: float
    decode_s: float
    decode_fps: float
    encode_peak_mb: float
    decode_peak_mb: float
    extra: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        """``"crf=32"``: identifies the point within its file."""
        ((knob, value),) = self.setting.items()
        return f"{knob}={value}"


@dataclass(frozen=True)
class SequenceResults:
    """Everything in one result file: identity of the run and its points (sorted by rate)."""

    name: str
    description: str
    dataset: str
    sequence: dict
    method: dict
    points: tuple[PointResult, ...] = ()

    def keys(self) -> set[str]:
        return {p.key for p in self.points}

    def with_point(self, point: PointResult) -> "SequenceResults":
        """A copy holding ``point`` too (replacing a point with the same setting)."""
        kept = [p for p in self.points if p.key != point.key] + [point]
        kept.sort(key=lambda p: (p.bpp, p.key))
        return SequenceResults(self.name, self.description, self.dataset, self.sequence, self.method, tuple(kept))

    def series(self, key: str) -> list:
        """One results list (``"bpp"``, ``"psnr-rgb"``, ...) in point order."""
        return [getattr(p, METRIC_KEYS[key]) for p in self.points]

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "results": {key: self.series(key) for key in METRIC_KEYS},
            "settings": [p.setting for p in self.points],
            "extra": [p.extra for p in self.points],
            "dataset": self.dataset,
            "sequence": self.sequence,
            "method": self.method,
        }


def _clean(value):
    """JSON-safe: NaN and infinities become null (strict JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w") as f:
        json.dump(_clean(data), f, indent=1, allow_nan=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save(path: Path, results: SequenceResults) -> None:
    """Write one sequence's result file atomically."""
    write_json(path, results.to_json())


def _num(value) -> float:
    return float("nan") if value is None else float(value)


def load(path: Path) -> SequenceResults:
    """Read a sequence result file written by :func:`save`; :class:`ConfigError` if it is damaged."""
    try:
        data = json.loads(path.read_text())
        res, settings = data["results"], data["settings"]
        extras = data.get("extra") or [{} for _ in settings]
        points = []
        for i, setting in enumerate(settings):
            ssim = res["ms-ssim"][i]
            points.append(
                PointResult(
                    setting=dict(setting),
                    num_bytes=int(res["bytes"][i]),
                    bpp=float(res["bpp"][i]),
                    psnr_rgb=_num(res["psnr-rgb"][i]),
                    psnr_yuv=_num(res["psnr-yuv"][i]),
                    ms_ssim=None if ssim is None else float(ssim),
                    encode_s=_num(res["encode-s"][i]),
                    decode_s=_num(res["decode-s"][i]),
                    decode_fps=_num(res["decode-fps"][i]),
                    encode_peak_mb=_num(res["encode-peak-mb"][i]),
                    decode_peak_mb=_num(res["decode-peak-mb"][i]),
                    extra=dict(extras[i]),
                )
            )
        return SequenceResults(
            data["name"], data["description"], data["dataset"], data["sequence"], data["method"], tuple(points)
        )
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ConfigError(f"cannot read result file {path}: {exc}; delete it to start that run again") from None


def _mean(values: list) -> float | None:
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return sum(finite) / len(finite) if len(finite) == len(values) and finite else None


def average(runs: list[SequenceResults]) -> dict:
    """The (dataset, method) file: per setting, the mean of every metric over sequences.

    Only settings present in every sequence are averaged (as NeRV/HNeRV average their UVG curves:
    mean bpp and mean PSNR at the same setting); per-sequence results are included beside.
    """
    if not runs:
        raise ValueError("nothing to average")
    common = set.intersection(*(r.keys() for r in runs))
    by_key = [{p.key: p for p in r.points} for r in runs]
    ordered = sorted(common, key=lambda k: sum(m[k].bpp for m in by_key))
    results = {
        key: [_mean([getattr(m[k], attr) for m in by_key]) for k in ordered] for key, attr in METRIC_KEYS.items()
    }
    first = runs[0]
    return {
        "name": first.name,
        "description": first.description,
        "results": results,
        "settings": [by_key[0][k].setting for k in ordered],
        "dataset": first.dataset,
        "method": first.method,
        "sequences": [r.sequence.get("name") for r in runs],
        "per-sequence": {r.sequence.get("name"): r.to_json()["results"] for r in runs},
    }
