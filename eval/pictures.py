"""Pictures of decoded frames for the report: what a method's artefacts look like, not only its curve.

Every point of a sweep keeps a crop of one decoded frame (:func:`picture_frame`: the middle frame;
:func:`crop_window`: the most detailed square of the source there, at most :data:`CROP` pixels a
side, the same window for every method) as ``results/<dataset>/<sequence>/frames/<method>_<setting>.png``
beside the source's crop (``source.png``). The report then shows, per sequence, the source and each
method's crop at about the same bpp side by side (:func:`frames_figure`: the target is the bpp that
every method comes closest to, each method's point nearest to it), with bpp and PSNR under each.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codec.video.frames import YUVFrames

__all__ = ["CROP", "Window", "picture_frame", "crop_window", "grab_frame", "frames_dir", "crop_path",
           "save_crops", "Pick", "pick_points", "frames_figure"]

#: Side of the square crop, in source pixels (smaller frames give their whole short side).
CROP = 160


@dataclass(frozen=True)
class Window:
    """A crop: top-left corner and size in pixels."""

    top: int
    left: int
    height: int
    width: int

    def of(self, frame: np.ndarray) -> np.ndarray:
        return frame[self.top:self.top + self.height, self.left:self.left + self.width]


def picture_frame(num_frames: int) -> int:
    """The frame shown: the middle one."""
    return num_frames // 2


def crop_window(source: np.ndarray, size: int = CROP) -> Window:
    """The ``size`` x ``size`` window (clipped to the frame) of the most detail in ``source``
    (RGB ``(H, W, 3)``): the largest sum of luma gradients, on a grid of 8-pixel steps."""
    h, w = source.shape[:2]
    ch = cw = min(size, h, w)
    luma = source.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    detail = np.zeros((h + 1, w + 1))
    grad = np.zeros((h, w))
    grad[:, 1:] += np.abs(np.diff(luma, axis=1))
    grad[1:, :] += np.abs(np.diff(luma, axis=0))
    detail[1:, 1:] = grad.cumsum(0).cumsum(1)
    best, where = -1.0, (0, 0)
    for top in sorted({*range(0, h - ch + 1, 8), h - ch}):
        for left in sorted({*range(0, w - cw + 1, 8), w - cw}):
            total = (detail[top + ch, left + cw] - detail[top, left + cw] - detail[top + ch, left]
                     + detail[top, left])
            if total > best:
                best, where = total, (top, left)
    return Window(where[0], where[1], ch, cw)


def grab_frame(chunks: Iterable, index: int, found: list) -> Iterator:
    """Pass decoded blocks (:class:`YUVFrames` or RGB arrays) through, appending frame ``index`` (RGB)
    to ``found`` as it goes by."""
    position = 0
    for block in chunks:
        n = len(block)
        if position <= index < position + n:
            one = block[index - position:index - position + 1]
            found.append((one.to_rgb() if isinstance(one, YUVFrames) else np.asarray(one))[0])
        position += n
        yield block


def frames_dir(results: Path, sequence: str) -> Path:
    """Where a sequence's crops are kept (``results`` is ``out/results/<dataset>``)."""
    return results / sequence / "frames"


def crop_path(folder: Path, method: str, key: str) -> Path:
    return folder / f"{method}_{key}.png"


def save_crops(folder: Path, source: np.ndarray, decoded: np.ndarray, method: str, key: str) -> Path:
    """The source's and the decoded frame's crops as PNG in ``folder``; the decoded one's path."""
    import imageio.v3 as iio

    folder.mkdir(parents=True, exist_ok=True)
    window = crop_window(source)
    iio.imwrite(folder / "source.png", window.of(source), extension=".png")
    path = crop_path(folder, method, key)
    iio.imwrite(path, window.of(decoded), extension=".png")
    return path


@dataclass(frozen=True)
class Pick:
    """A method's point shown in the figure."""

    method: str
    key: str
    bpp: float
    psnr: float
    path: Path


def pick_points(points: Mapping[str, list[tuple[str, float, float]]], folder: Path) -> tuple[float, list[Pick]]:
    """For ``{method: [(key, bpp, psnr), ...]}``, the target bpp (the point's bpp, of all points with
    a crop, whose farthest method is nearest in log-rate) and each method's point closest to it."""
    have = {m: [(k, b, q) for k, b, q in pts if b > 0 and crop_path(folder, m, k).exists()]
            for m, pts in points.items()}
    have = {m: pts for m, pts in have.items() if pts}
    if not have:
        return math.nan, []

    def far(t: float) -> float:
        return max(min(abs(math.log(b / t)) for _, b, _ in pts) for pts in have.values())

    target = min((b for pts in have.values() for _, b, _ in pts), key=lambda t: (far(t), t))
    picks = []
    for m, pts in have.items():
        k, b, q = min(pts, key=lambda p: abs(math.log(p[1] / target)))
        picks.append(Pick(m, k, b, q, crop_path(folder, m, k)))
    return target, picks


def frames_figure(path: Path, title: str, folder: Path, picks: list[Pick]) -> Path:
    """Source crop and the picked methods' crops side by side (pixels as they are), into a PNG."""
    import imageio.v3 as iio
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("source", iio.imread(folder / "source.png"))]
    panels += [(f"{p.method} ({p.key})\n{p.bpp:.4f} bpp, {p.psnr:.2f} dB", iio.imread(p.path)) for p in picks]
    h, w = panels[0][1].shape[:2]
    scale = max(1.0, 200 / max(h, w))  # small crops drawn larger, pixel for pixel
    fig, axes = plt.subplots(1, len(panels), figsize=(len(panels) * w * scale / 80 + 0.4, h * scale / 80 + 0.9),
                             squeeze=False)
    for ax, (label, image) in zip(axes[0], panels):
        ax.imshow(image, interpolation="nearest")
        ax.set_title(label, fontsize=7)
        ax.set_axis_off()
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
