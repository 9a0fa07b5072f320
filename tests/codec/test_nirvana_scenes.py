"""nirvana at scene cuts: a group ends at the cut, the group after it trains on group 0's schedule,
and the stream says how many frames the shortened group holds."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import codec
from bitstream import BitstreamError, StreamReader, encode_stream
from codec.config import EncodeConfig
from codec.errors import ConfigError
from codec.family import Geometry
from codec.streaminfo import describe_stream
from codec.metrics import psnr_rgb
from codec.families.nirvana import encode as nirvana
from codec.families.nirvana.config import CUT_PSNR
from codec.tools.groups import read_groups, scene_cuts
from bitstream.records.nirvana import FLAG_FRAMES, GroupRecord, read_group, read_group_head, write_group
from codec.video import open_video, write_video
from tests.codec.sources import RecordingSource

GOP, STEPS = 4, 30


@pytest.fixture(scope="module")
def two_scenes(tmp_path_factory, carphone_frames):
    """12 frames of 40x36: 6 of carphone, then 6 of another scene (the same frames upside down
    and in negative), so a cut lies between frames 5 and 6."""
    a = carphone_frames[:, 40:76, 60:100]
    b = 255 - a[::-1, ::-1]
    path = tmp_path_factory.mktemp("scenes") / "cut.y4m"
    write_video(path, np.ascontiguousarray(np.concatenate([a, b])), fps=25)
    with open_video(path) as video:
        frames = video.read()
    out = path.with_suffix(".inrv")
    result = codec.encode(path, out, EncodeConfig.of(model="nirvana", device="cpu", progress=False, gop=GOP,
                                                  patch=16, steps=STEPS))
    return frames, out, result


def test_scene_cuts_finds_the_cut_and_one_at_the_start(two_scenes):
    frames, _, _ = two_scenes
    assert scene_cuts(frames, None, CUT_PSNR) == [6]
    assert scene_cuts(frames[6:], frames[5], CUT_PSNR) == [0]
    assert scene_cuts(frames[:6], None, CUT_PSNR) == []
    assert scene_cuts(frames[:1], None, CUT_PSNR) == []


def test_groups_end_at_the_cut_and_the_next_scene_gets_the_long_schedule(two_scenes):
    frames, path, result = two_scenes
    with StreamReader(path) as reader:
        heads = [read_group_head(payload)[1] for _, payload in reader.iter_chunks()]
    # [0-3], [4-5] cut short (its count in the chunk), [6-9] the new scene, [10-11] the regular rest
    assert [h.frames for h in heads] == [None, 2, None, None]
    assert [bool(h.flags & FLAG_FRAMES) for h in heads] == [False, True, False, False]
    assert heads[0].steps == heads[2].steps == STEPS  # key groups: the whole schedule
    assert heads[1].steps <= round(nirvana.LATER_STEPS_FRACTION * STEPS)
    with codec.open(path, device="cpu") as coded:
        assert coded.decoder.plan == [(0, 4), (4, 2), (6, 4), (10, 2)]
        decoded = np.stack(list(coded.frames()))
        assert np.array_equal(np.stack(list(coded.frames(3, 8))), decoded[3:8])  # across the cut
    assert result.psnr_rgb == pytest.approx(float(psnr_rgb(frames, decoded).mean()), abs=1e-6)
    table = [line for line in describe_stream(path).splitlines() if "scene cut" in line]
    assert len(table) == 1 and table[0].split()[:2] == ["1", "4..5"]
    # the encode's per-group results say the same: where each group starts, which ones are key groups
    assert [(g.first, g.frames, g.key) for g in result.groups] == [(0, 4, True), (4, 2, False), (6, 4, True),
                                                                   (10, 2, False)]
    assert [g.steps for g in result.groups] == [h.steps for h in heads]
    with StreamReader(path) as reader:
        assert [g.bytes for g in result.groups] == [c.size for c in reader.chunks]


def test_scene_cuts_can_be_turned_off_or_tuned(two_scenes, tmp_path):
    frames, _, _ = two_scenes
    assert scene_cuts(frames, None, threshold=0) == []
    assert scene_cuts(frames, None, threshold=100) == list(range(1, len(frames)))
    path = tmp_path / "cut.y4m"
    write_video(path, frames, fps=25)
    out = tmp_path / "fixed.inrv"
    codec.encode(path, out, EncodeConfig.of(model="nirvana", device="cpu", progress=False, gop=GOP, patch=16,
                                         steps=3, scene_cut=0))
    with codec.open(out, device="cpu") as coded:
        assert coded.decoder.plan == [(0, 4), (4, 4), (8, 4)]
    with pytest.raises(ConfigError, match="--scene-cut"):
        EncodeConfig.of(model="nirvana", scene_cut=-1)


def test_frame_counts_in_chunks_are_checked(two_scenes, tmp_path):
    _, path, _ = two_scenes
    with StreamReader(path) as reader:
        header = reader.header
        chunks = [(info.kind, payload) for info, payload in reader.iter_chunks()]
    with codec.open(path, device="cpu") as coded:
        shapes = coded.decoder.shapes

    def with_frames(index: int, frames: int | None) -> bytes:
        record = read_group(chunks[index][1], shapes)
        damaged = list(chunks)
        damaged[index] = (chunks[index][0], write_group(GroupRecord(record.steps, record.decoders,
                                                                    record.residuals, frames)))
        return encode_stream(header, damaged)

    for data, message in ((with_frames(0, GOP + 1), "at most 4 fit"),
                          (encode_stream(header, chunks[:-1]), "covering 10 of its 12 frames"),
                          (with_frames(1, 4), "group chunks, its 12 frames need 3")):
        damaged = tmp_path / "damaged.inrv"
        damaged.write_bytes(data)
        with pytest.raises(BitstreamError, match=message):
            with codec.open(damaged, device="cpu") as coded:
                list(coded.frames())
    zero = bytearray(write_group(GroupRecord(1, None, (np.zeros(2, dtype=np.int64),), 1)))
    zero[2] = 0  # the frame count
    with pytest.raises(BitstreamError, match="no frames"):
        read_group(bytes(zero), [(2,)])
    with pytest.raises(ValueError):
        write_group(GroupRecord(1, None, (np.zeros(2, dtype=np.int64),), 0))


def test_read_groups_ends_groups_at_cuts_and_reads_one_group_ahead(two_scenes):
    frames, _, _ = two_scenes
    source = RecordingSource(frames, Geometry(40, 36, len(frames), Fraction(25)))
    groups = list(read_groups(source, GOP, CUT_PSNR))
    assert [(g.first, len(g.frames), g.regular, g.cut) for g in groups] == [
        (0, 4, 4, False), (4, 2, 4, False), (6, 4, 4, True), (10, 2, 2, False)]
    assert all(np.array_equal(g.frames, frames[g.first : g.first + len(g.frames)]) for g in groups)
    # each frame read once, never more than a group ahead of the group being handed out
    assert source.reads == [(0, 4), (4, 4), (8, 2), (10, 2)]
