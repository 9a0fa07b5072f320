"""The ``motion`` family's own parts: its coding structures, closed-loop coding (the encoder's
decoded frames are the decoder's, bit for bit), its chunk records, the warping and the info
table. The contract suite (tests/codec/test_contract.py) covers round trips, range decode, info
attributing every byte and hostile streams; the latent-grid machinery is tested in
tests/codec/test_latentgrid.py."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

import codec
from bitstream import BitstreamError
from bitstream.records.motion import FrameRecord, PartLayout, PartRecord, read_frame, write_frame
from codec.config import EncodeConfig
from codec.family import Geometry
from codec.families.motion.config import MotionConfig
from codec.families.motion.decode import coding_structure
from codec.families.motion.family import FAMILY
from codec.families.motion.net import decoder_macs, predict, warp
from codec.streaminfo import describe_stream
from codec.tools import tiles

FRAMES = 6


def config(**kw) -> MotionConfig:
    base = dict(structure=0, intra_period=4, interp=1, levels=4, hidden=8, residual_hidden=8, layers=2, refine=1, motion_levels=3,
                motion_hidden=8, motion_scale=2, ctx_hidden=8, ctx_layers=2)
    base.update(kw)
    return MotionConfig(**base)


def test_random_access_stores_each_frame_types_networks_with_its_first_frame():
    s = coding_structure(config(intra_period=8), 17)
    assert s.coding_order()[:4] == (0, 8, 4, 2)
    letters = [f.letter for f in s.frames]
    first = {t: letters.index(t) for t in "IB"}
    for chunk, frame in zip(s.chunks, s.frames):
        if chunk.index == first[frame.letter]:
            assert chunk.direct and chunk.base is None
        else:
            assert chunk.base == first[frame.letter]
    assert s.needed(5, 6).frames == (0, 8, 4, 6, 5)
    assert s.chain(s.frame(5).chunk) == (first["B"], s.frame(5).chunk)


def test_low_delay_predicts_each_frame_from_the_one_before():
    s = coding_structure(config(structure=1, intra_period=4), 9)
    assert [f.letter for f in s.display_order()] == list("IPPPIPPPI")
    assert all(f.refs == ((f.display - 1,) if f.letter == "P" else ()) for f in s.frames)


def test_frame_record_round_trip_and_refusals():
    layout = PartLayout(((2, 3),), ((4,),), (10, 10))
    with_nets = PartRecord(np.array([0.5], np.float32), (np.arange(6).reshape(2, 3),), (np.array([1, -2, 3, 0]),),
                           (np.array([1, 2], np.uint32), np.array([7], np.uint32)))
    without = PartRecord(None, None, None, (np.array([3], np.uint32), np.zeros(0, np.uint32)))
    data = write_frame(FrameRecord(12, (with_nets, without)))
    back = read_frame(data, [layout, layout])
    assert back.steps == 12 and back.parts[0].networks and not back.parts[1].networks
    assert np.array_equal(back.parts[0].synthesis[0], with_nets.synthesis[0])
    assert [list(w) for w in back.parts[1].levels] == [[3], []]
    with pytest.raises(BitstreamError):
        read_frame(data[:-1], [layout, layout])
    with pytest.raises(BitstreamError):
        read_frame(data + b"\0", [layout, layout])


def test_warping_by_a_whole_pixel_shifts_the_frame():
    ref = torch.rand(1, 3, 12, 16, dtype=torch.float64)
    flow = torch.zeros(1, 2, 12, 16, dtype=torch.float64)
    flow[:, 0] = 1.0  # every pixel reads the reference one to the right
    for interp in ("bilinear", "bicubic"):
        out = warp(ref, flow, interp)
        assert torch.allclose(out[..., :-1], ref[..., 1:], atol=1e-9)
    # a B frame's weight of 0 (sigmoid 0.5) averages its two warped references
    motion = torch.zeros(1, 5, 12, 16, dtype=torch.float64)
    other = torch.rand_like(ref)
    assert torch.allclose(predict([ref, other], motion, "bicubic"), (ref + other) / 2)


@pytest.fixture(scope="module")
def coded(tmp_path_factory, carphone_y4m):
    """carphone's 6 frames, intra period 4 (I P B B B I), with the frames the encoder decoded."""
    from codec.families.motion import encode as motion_encode

    seen: dict[int, np.ndarray] = {}
    original = motion_encode.encode

    def spy(*args, **kw):
        return original(*args, **kw, on_frame=lambda d, f: seen.__setitem__(d, f.copy()))

    motion_encode.encode = spy
    try:
        out = tmp_path_factory.mktemp("motion") / "m.inrv"
        codec.encode(carphone_y4m, out, EncodeConfig(model="motion", device="cpu", threads=1, progress=False,
                                                     options={"steps": 12, "intra_period": 4}))
    finally:
        motion_encode.encode = original
    return out, seen


def test_the_decoder_gives_the_encoders_frames_bit_for_bit(coded):
    """Closed loop: every frame the encoder decoded (and predicted later frames from) is what the
    decoder gives, on the same machine, twice, and in strips."""
    path, seen = coded
    assert sorted(seen) == list(range(FRAMES))
    with codec.open(path, device="cpu") as video:
        first = np.stack(list(video.frames()))
        again = np.stack(list(video.frames()))
        with tiles.strip_pixels(176 * 9):  # in strips of 9 rows (tests/codec/test_motion_strips.py)
            strips = np.stack(list(video.frames()))
    assert np.array_equal(first, again) and np.array_equal(strips, first)
    for d in range(FRAMES):
        assert np.array_equal(first[d], seen[d]), d


def test_info_prints_the_structure_and_bytes_per_frame_and_part(coded):
    path, _ = coded
    text = describe_stream(path)
    assert "random access, intra period 4" in text
    table = text[text.index("order frame"):]
    rows = [line.split() for line in table.splitlines()[1:] if line.split()[0].isdigit()]
    assert [r[2] for r in rows] == ["I", "I", "B", "B", "B", "P"][: len(rows)] or len(rows) == FRAMES
    assert sum(int(r[5]) for r in rows) == int(table.splitlines()[len(rows) + 1].split()[1])
    assert "multiply-adds per pixel" in text


def test_decoder_cost_is_counted_per_frame_type():
    macs = decoder_macs(config(), 144, 176)
    assert macs["I"] < macs["P"] < macs["B"] < 1500


def test_options_reach_the_config():
    geometry = Geometry(64, 48, 9, Fraction(30))
    cfg = FAMILY.make_config(EncodeConfig(model="motion", options={"structure": "ld", "intra_period": 8,
                                                                    "interp": "bilinear", "preset": "s"}), geometry)
    assert (cfg.structure_name, cfg.intra_period, cfg.interp_name, cfg.hidden) == ("ld", 8, "bilinear", 12)


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_flow_targets_point_to_where_the_reference_holds_the_frame(method, carphone_frames):
    """A reference that is the frame moved 3 pixels right: the flow from the frame to it is about
    +3 in x and 0 in y on the motion grid (in the decoder's convention: frame(x) = reference(x + flow))."""
    from codec.families.motion.flow import flow_targets

    frame = carphone_frames[0]
    reference = np.roll(frame, 3, axis=1)
    out = flow_targets(frame, [reference], method, (36, 44), 2)
    assert out.shape == (1, 2, 36, 44)
    inner = out[0, :, 6:-6, 6:-6]
    assert abs(float(np.median(inner[0])) - 3.0) < 0.5 and abs(float(np.median(inner[1]))) < 0.5


def test_motion_has_a_quality_ladder_rate_control_can_use():
    from codec.family import Laddered

    assert isinstance(FAMILY, Laddered)
    assert FAMILY.ladder_length(FAMILY.ladder_steps(400.0, 32), 32) == 400.0
    enc = EncodeConfig(model="motion", options={"intra_period": 8})
    assert FAMILY.probe_frames(enc, 32) == 5 and FAMILY.probe_frames(enc, 3) == 3


def test_one_stream_per_part_holds_the_golden_latents_in_fewer_bytes(tmp_path):
    """The golden stream (a stream per latent level, as every stream before ``part_stream``)
    recoded with one ANS stream per part decodes to the same frames in fewer bytes, and recoded
    back is the golden file byte for byte; new encodes write one stream per part."""
    from eval.decode_memory import motion_part_streams
    from tests.codec.make_golden import golden_paths

    golden, _ = golden_paths("motion")
    joint = tmp_path / "joint.inrv"
    joint.write_bytes(motion_part_streams(golden, True))
    with codec.open(golden, device="cpu") as a, codec.open(joint, device="cpu") as b:
        assert not a.config.part_stream and b.config.part_stream
        assert np.array_equal(np.stack(list(a.frames())), np.stack(list(b.frames())))
        frames = b.info.num_frames
    assert joint.stat().st_size < golden.stat().st_size - 2 * frames
    assert motion_part_streams(joint, False) == golden.read_bytes()
    assert FAMILY.make_config(EncodeConfig(model="motion"), Geometry(48, 40, 4, Fraction(25))).part_stream
