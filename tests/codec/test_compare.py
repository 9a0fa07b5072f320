"""inrv decode --compare SOURCE: source | decoded | error map, frame by frame (codec.compare)."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

import codec
from codec.cli import main
from codec.compare import ERROR_GAIN, compare, side_by_side
from codec.config import EncodeConfig
from codec.errors import ConfigError
from codec.video import open_video, write_video


@pytest.fixture(scope="module")
def stream(tmp_path_factory, carphone_y4m):
    path = tmp_path_factory.mktemp("compare") / "s.inrv"
    codec.encode(carphone_y4m, path, EncodeConfig.of(model="nerv", preset="xs", steps=2, count=4, device="cpu",
                                                     progress=False, threads=1))
    return path


def test_side_by_side_shows_source_decoded_and_the_error():
    src = np.zeros((1, 2, 2, 3), np.uint8)
    dec = np.array([[[[0, 0, 0], [3, 6, 9]], [[200, 200, 200], [1, 1, 1]]]], np.uint8)
    out = side_by_side(src, dec)
    assert out.shape == (1, 2, 6, 3) and (out[:, :, :2] == src).all() and (out[:, :, 2:4] == dec).all()
    assert out[0, :, 4:, 0].tolist() == [[0, 6 * ERROR_GAIN], [255, 1 * ERROR_GAIN]]


def test_compare_writes_the_three_panels(stream, carphone_y4m, tmp_path):
    out = tmp_path / "cmp"
    r = compare(stream, carphone_y4m, out, start=1, count=2, device="cpu", threads=1)
    with open_video(carphone_y4m) as reader:
        source = reader.read(1, 2)
    with codec.open(stream, device="cpu") as video:
        decoded = np.stack(list(video.frames(1, 3)))
    written = np.stack([iio.imread(p) for p in sorted(out.iterdir())])
    assert (written == side_by_side(source, decoded)).all() and (r.first_frame, r.num_frames) == (1, 2)
    assert r.psnr_rgb == pytest.approx(float(codec.metrics.psnr_rgb(source, decoded).mean()))


def test_a_source_that_does_not_match_is_one_error(stream, carphone_y4m, tmp_path):
    with open_video(carphone_y4m) as reader:
        frames = reader.read(0, 4)
    small = write_video(tmp_path / "small.y4m", frames[:, :64, :64], fps=30)
    with pytest.raises(ConfigError, match="is 64x64, the stream 176x144"):
        compare(stream, small, tmp_path / "x.y4m", device="cpu")
    short = write_video(tmp_path / "short.y4m", frames[:2], fps=30)
    with pytest.raises(ConfigError, match="has 2 frames, the comparison needs 4"):
        compare(stream, short, tmp_path / "x.y4m", device="cpu")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short.y4m", "small.y4m"]


def test_the_cli_flag(stream, carphone_y4m, tmp_path, capsys):
    out = tmp_path / "cmp.mkv"
    assert main(["decode", str(stream), "-o", str(out), "--compare", str(carphone_y4m), "--threads", "1"]) == 0
    assert out.exists() and "source | decoded | error x4; PSNR-RGB" in capsys.readouterr().out
    assert main(["decode", str(stream), "-o", str(tmp_path / "y.mkv"), "--compare", str(tmp_path / "nope.y4m")]) == 1
    assert capsys.readouterr().err.strip() == f"inrv: error: no such file or folder: {tmp_path / 'nope.y4m'}"
