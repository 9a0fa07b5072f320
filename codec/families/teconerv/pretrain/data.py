"""Training tubelets from a folder of videos or a corpus manifest.

Each video is read once, as runs of :data:`RUN` consecutive frames (every one, or evenly spaced
ones up to :data:`MAX_RUNS` per video), scaled down to at most :data:`MAX_WIDTH` pixels wide, and
kept in the cache as a ``.npy`` file that training memory-maps. :class:`TubeletSampler` draws
tubelets from them: a random video (weighted by the square root of its frame count, so that one
long video does not dominate), a random start inside a run, a random crop of 1 to
``max_scale`` times the tubelet's size scaled down to it (content at several scales, as the
evaluation clips range from 176x144 to 720p), and a random horizontal flip. With ``pairs`` a
sample is two consecutive segments of the same tubelet (the coherence stage).
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from codec.errors import ConfigError
from codec.families.teconerv.pretrain.settings import check_data
from codec.video import open_video

RUN = 16
MAX_RUNS = 24
MAX_WIDTH = 640
VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".ogv", ".webm", ".y4m", ".m4v", ".mpg", ".mpeg")


@dataclass(frozen=True)
class Clip:
    """One video's cached runs: ``frames`` (runs * RUN, H, W, 3) uint8."""

    source: str
    frames: np.ndarray

    @property
    def runs(self) -> int:
        return len(self.frames) // RUN


def video_files(data: str | os.PathLike) -> list[Path]:
    """The videos of a folder (sorted, recursively) or of a corpus manifest (fetched into the cache)."""
    path = check_data(data)
    if not path.is_dir():
        from codec.families.teconerv.pretrain.corpus import fetch, load_manifest

        return fetch(load_manifest(path))
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())
    if not files:
        raise ConfigError(f"no videos in {path} (looked for {', '.join(VIDEO_SUFFIXES)})")
    return files


def _cache_name(path: Path) -> str:
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{RUN}|{MAX_RUNS}|{MAX_WIDTH}"
    return hashlib.sha256(key.encode()).hexdigest()[:20] + ".npy"


def _scaled(frames: np.ndarray) -> np.ndarray:
    h, w = frames.shape[1:3]
    if w <= MAX_WIDTH:
        return frames
    size = (max(1, round(h * MAX_WIDTH / w)), MAX_WIDTH)
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def prepare(files: list[Path], cache: Path, say=print) -> list[Clip]:
    """Every video's runs, read once into ``cache`` and memory-mapped from there."""
    cache.mkdir(parents=True, exist_ok=True)
    clips = []
    for path in files:
        target = cache / _cache_name(path)
        if not target.is_file():
            with open_video(path) as video:
                n = video.info.num_frames
                total = n // RUN
                if total == 0:
                    say(f"pretrain: skipping {path.name}: {n} frames, fewer than {RUN}")
                    continue
                keep = set(np.linspace(0, total - 1, min(total, MAX_RUNS)).round().astype(int).tolist())
                runs = [_scaled(chunk) for i, chunk in enumerate(video.iter_chunks(0, total * RUN, chunk=RUN))
                        if i in keep]
            part = target.with_suffix(".part.npy")
            np.save(part, np.concatenate(runs))
            part.replace(target)
            say(f"pretrain: cached {path.name}: {len(runs)} runs of {RUN} frames")
        clips.append(Clip(str(path), np.load(target, mmap_mode="r")))
    if not clips:
        raise ConfigError("no video to train on")
    return clips


class TubeletSampler:
    """Draws (B, T, 3, H, W) float tubelets in [0, 1] (``T = frames``, twice that with ``pairs``)."""

    def __init__(self, clips: list[Clip], frames: int, height: int, width: int, max_scale: float = 3.0) -> None:
        if frames * 2 > RUN:
            raise ConfigError(f"tubelets of {frames} frames: pairs need runs of {2 * frames}, runs hold {RUN}")
        self.clips = [c for c in clips if c.frames.shape[1] >= height and c.frames.shape[2] >= width]
        if not self.clips:
            raise ConfigError(f"no video is at least {width}x{height}")
        self.frames, self.height, self.width, self.max_scale = frames, height, width, max_scale
        weights = np.sqrt([len(c.frames) for c in self.clips])
        self.weights = weights / weights.sum()

    def sample(self, rng: np.random.Generator, batch: int, pairs: bool = False) -> torch.Tensor:
        length = self.frames * (2 if pairs else 1)
        out = torch.empty(batch, length, 3, self.height, self.width)
        for b in range(batch):
            clip = self.clips[rng.choice(len(self.clips), p=self.weights)]
            run = int(rng.integers(clip.runs))
            start = run * RUN + int(rng.integers(RUN - length + 1))
            h, w = clip.frames.shape[1:3]
            top_scale = min(self.max_scale, h / self.height, w / self.width)
            scale = math.exp(rng.uniform(0.0, math.log(top_scale))) if top_scale > 1 else 1.0
            ch, cw = min(h, round(self.height * scale)), min(w, round(self.width * scale))
            y, x = int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1))
            crop = torch.from_numpy(np.ascontiguousarray(clip.frames[start : start + length, y : y + ch, x : x + cw]))
            crop = crop.permute(0, 3, 1, 2).float() / 255
            if (ch, cw) != (self.height, self.width):
                crop = F.interpolate(crop, size=(self.height, self.width), mode="bilinear", antialias=True,
                                     align_corners=False)
            if rng.random() < 0.5:
                crop = crop.flip(-1)
            out[b] = crop.clamp(0, 1)
        return out
