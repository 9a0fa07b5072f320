"""Datasets: UVG as distributed (names, frame counts, sizes) on tiny stand-in files; folders; scaling."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from PIL import Image

from codec.errors import ConfigError, VideoError
from codec.video import open_video
from codec.video.frames import i420_frame_bytes
from eval.datasets import UVG, Source, folder_sources, load_dataset, prepare, scaled_size, uvg_sources

TINY = (16, 8)  # stand-in geometry: the files are named like UVG's, sized for 16x8 frames


def _uvg_file(root, stem: str, frames: int, *, extra: int = 0, name: str | None = None):
    path = root / (name or f"{stem}_1920x1080_120fps_420_8bit_YUV.yuv")
    rng = np.random.default_rng(len(stem))
    data = rng.integers(0, 256, i420_frame_bytes(*TINY) * frames + extra, dtype=np.uint8)
    path.write_bytes(data.tobytes())
    return path


@pytest.fixture
def uvg_root(tmp_path):
    root = tmp_path / "uvg"
    root.mkdir()
    for entry in UVG:
        _uvg_file(root, entry.stem, entry.frames)
    return root


def test_uvg_names_frames_and_sizes(uvg_root):
    sources = uvg_sources(uvg_root, geometry=TINY)
    assert [s.name for s in sources] == ["Beauty", "Bosphorus", "HoneyBee", "Jockey", "ReadySetGo", "ShakeNDry", "YachtRide"]
    frames = {s.name: s.num_frames for s in sources}
    assert frames["ShakeNDry"] == 300 and all(n == 600 for k, n in frames.items() if k != "ShakeNDry")
    ready = next(s for s in sources if s.name == "ReadySetGo")
    assert ready.path.name.startswith("ReadySteadyGo_") and ready.fps == 120 and ready.kind == "raw-yuv"


def test_uvg_subset_and_first_frames(uvg_root, tmp_path):
    (seq,) = load_dataset("uvg", uvg_root, names=["jockey"], frames=5, geometry=TINY, cache_dir=tmp_path / "c")
    assert (seq.name, seq.num_frames, seq.width, seq.height) == ("Jockey", 5, 16, 8)
    assert seq.origin.name == "Jockey_1920x1080_120fps_420_8bit_YUV.yuv"
    frames = list(seq.yuv_chunks(2))
    assert [len(f) for f in frames] == [2, 2, 1]
    raw = np.frombuffer(seq.origin.read_bytes(), np.uint8)[: 5 * i420_frame_bytes(*TINY)]
    packed = np.concatenate([f.to_i420() for f in frames]).reshape(-1)
    assert np.array_equal(raw, packed)


def test_raw_files_named_with_their_geometry_are_read_in_place(tmp_path):
    named = _uvg_file(tmp_path, "clip", 6, name="clip_16x8_120fps.yuv")
    unnamed = _uvg_file(tmp_path, "other", 6, name="other.yuv")
    (source,) = folder_sources(files=[named])
    assert prepare(source, frames=3).path == named  # no copy when only the frame count changes
    source = Source("other", unnamed, 16, 8, 6, Fraction(120), "raw-yuv")  # as UVG finds a renamed file
    copy = prepare(source, frames=3, cache_dir=tmp_path / "cache")
    assert copy.path.suffix == ".y4m" and copy.num_frames == 3  # the codec could not open it alone


def test_raw_files_without_geometry_in_their_name_take_size(tmp_path):
    """``inrv eval --size WxH`` (issue 37): a raw file whose name states nothing; other files keep
    their own geometry."""
    unnamed = _uvg_file(tmp_path, "other", 6, name="other.yuv")
    with pytest.raises(VideoError, match="--size WxH"):
        folder_sources(files=[unnamed])
    (seq,) = load_dataset("folder", None, files=[unnamed], size=TINY, fps=Fraction(30), frames=4,
                          cache_dir=tmp_path / "cache")
    assert (seq.width, seq.height, seq.num_frames, seq.fps) == (16, 8, 4, 30)
    raw = np.frombuffer(unnamed.read_bytes(), np.uint8)[: 4 * i420_frame_bytes(*TINY)]
    assert np.array_equal(np.concatenate([f.to_i420() for f in seq.yuv_chunks(4)]).reshape(-1), raw)


def test_uvg_refuses_truncated_file(uvg_root):
    _uvg_file(uvg_root, "Bosphorus", 599, extra=100)
    with pytest.raises(VideoError, match=r"Bosphorus.*truncated.*599 frames.*expected 600"):
        uvg_sources(uvg_root, geometry=TINY)


def test_uvg_refuses_oversized_and_reports_missing(uvg_root):
    _uvg_file(uvg_root, "ShakeNDry", 600)  # 600 frames where UVG has 300
    (uvg_root / "YachtRide_1920x1080_120fps_420_8bit_YUV.yuv").unlink()
    with pytest.raises(VideoError) as err:
        uvg_sources(uvg_root, geometry=TINY)
    text = str(err.value)
    assert "ShakeNDry" in text and "more than 300 frames" in text
    assert "YachtRide: not found" in text and "YachtRide_1920x1080_120fps_420_8bit_YUV.yuv" in text


def test_uvg_ignores_other_editions_and_unknown_names(tmp_path):
    root = tmp_path / "uvg"
    root.mkdir()
    _uvg_file(root, "Beauty", 600, name="Beauty_3840x2160_120fps_420_10bit_YUV.yuv")
    with pytest.raises(VideoError, match="Beauty: not found"):
        uvg_sources(root, ["Beauty"], geometry=TINY)
    with pytest.raises(ConfigError, match="unknown UVG sequence"):
        uvg_sources(root, ["Foreman"], geometry=TINY)


def test_uvg_png_folder_layout(tmp_path):
    root = tmp_path / "uvg"
    folder = root / "ShakeNDry"
    folder.mkdir(parents=True)
    frame = np.zeros((TINY[1], TINY[0], 3), np.uint8)
    for i in range(300):
        frame[:] = i % 256
        Image.fromarray(frame).save(folder / f"f{i + 1:05d}.png")
    (source,) = uvg_sources(root, ["ShakeNDry"], geometry=TINY)
    assert (source.kind, source.num_frames, source.fps) == ("png", 300, 120)
    (Image.fromarray(frame).save(folder / "f00301.png"))
    with pytest.raises(VideoError, match="301 frames"):
        uvg_sources(root, ["ShakeNDry"], geometry=TINY)


def test_scaled_size_is_even_and_never_crops():
    assert scaled_size(1920, 1080, 2) == (960, 540)
    assert scaled_size(1920, 1080, 4) == (480, 270)
    assert scaled_size(176, 144, 3) == (58, 48)
    with pytest.raises(ConfigError):
        scaled_size(4, 4, 3)


def test_prepare_scales_with_area_filter_and_caches(carphone_small, carphone):
    seq = carphone_small
    assert (seq.width, seq.height, seq.num_frames) == (88, 72, 4) and seq.path.suffix == ".y4m"
    with open_video(seq.path) as video:
        small = video.read_yuv(0, 4)
    with open_video(carphone.path) as video:
        full = video.read_yuv(0, 4)
    box = full.y.reshape(4, 72, 2, 88, 2).astype(np.float64).mean(axis=(2, 4))
    assert np.abs(box - small.y).max() <= 1.0  # area filter at an exact factor = 2x2 box mean
    mtime = seq.path.stat().st_mtime_ns
    (source,) = folder_sources(files=["carphone"])
    again = prepare(source, frames=4, scale=2, cache_dir=seq.path.parent)
    assert again.path == seq.path and seq.path.stat().st_mtime_ns == mtime


def test_folder_dataset_names_and_errors(tmp_path, carphone):
    named = folder_sources(files=[f"phone={carphone.path}", str(carphone.path)])
    assert [s.name for s in named] == ["phone", carphone.path.stem]
    assert [s.kind for s in folder_sources(carphone.path.parent)] == ["y4m"]
    with pytest.raises(VideoError, match="no such file"):
        folder_sources(files=[str(tmp_path / "missing.mp4")])
    with pytest.raises(ConfigError, match="no video"):
        load_dataset("folder", None)
    with pytest.raises(ConfigError, match="unknown dataset"):
        load_dataset("kinetics", tmp_path)
