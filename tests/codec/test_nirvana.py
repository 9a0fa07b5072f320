"""The ``nirvana`` family: groups, residual chunks, random access, static video, streaming."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

import codec
from bitstream import BitstreamError
from bitstream.fields import ByteWriter
from bitstream.tensor import write_ints
from codec.config import EncodeConfig
from codec.errors import ConfigError
from bitstream.records.kinds import CHUNK_GROUP
from codec.family import Geometry
from codec.streaminfo import describe_stream
from codec.metrics import psnr_rgb
from codec.families.nirvana import config as nirvana_config
from codec.families.nirvana import decode as nirvana_decode
from codec.tools import latents as residual
from codec.tools.patches import PatchGrid
from bitstream.records.nirvana import FLAG_BARE, FLAG_DECODERS, FLAG_KERNEL_MAPS, GroupRecord, LayerDecoder, read_group, write_group
from codec.tools.latents import LatentNetwork, LatentTensor
from codec.tools.dequantize import layer_weights
from codec.registry import get_family
from codec.video import open_video, write_video
from tests.codec.sources import RecordingSource

GOP, PATCH = 4, 16


def _cfg(**kw) -> EncodeConfig:
    kw.setdefault("steps", 30)
    return EncodeConfig.of(model="nirvana", device="cpu", progress=False, gop=GOP, patch=PATCH, **kw)


@pytest.fixture(scope="module")
def clip(tmp_path_factory, carphone_frames):
    """11 frames (3 groups, the last one short) of 40x36 (not a multiple of the patch size)."""
    frames = np.concatenate([carphone_frames, carphone_frames[::-1][:5]])[:, 40:76, 60:100]
    path = tmp_path_factory.mktemp("nirvana") / "clip.y4m"
    write_video(path, np.ascontiguousarray(frames), fps=25)
    with open_video(path) as video:  # the frames as the encoder reads them (4:2:0 round trip)
        return path, video.read()


@pytest.fixture(scope="module")
def encoded(clip, tmp_path_factory):
    path, _ = clip
    out = tmp_path_factory.mktemp("nirvana_out") / "clip.inrv"
    return codec.encode(path, out, _cfg())


def test_round_trip_with_group_chunks(encoded, clip):
    _, reference = clip
    with codec.open(encoded.path, device="cpu") as coded:
        assert [c.kind for c in coded.chunks] == [CHUNK_GROUP] * 3
        flags = [coded._stream.read_chunk(i)[0] for i in range(3)]
        decoded = np.stack(list(coded.frames()))
        steps = [coded.decoder.record(g).steps for g in range(3)]
    # the 3x3 patch grid fits one batch: a step renders every frame of its group
    assert encoded.frame_passes == pytest.approx(4 * steps[0] + 4 * steps[1] + 3 * steps[2])
    assert sum(steps) == encoded.steps
    # group 0 carries the decoders with their kernel maps, later groups inherit them; every
    # group's latents are bare values (their shapes come from the model config)
    assert flags == [FLAG_DECODERS | FLAG_KERNEL_MAPS | FLAG_BARE, FLAG_BARE, FLAG_BARE]
    assert decoded.shape == reference.shape == (11, 36, 40, 3)
    assert encoded.psnr_rgb == pytest.approx(float(psnr_rgb(reference, decoded).mean()), abs=1e-6)
    flat = float(psnr_rgb(reference, np.full_like(reference, 128)).mean())
    assert encoded.psnr_rgb > flat + 1.0
    assert encoded.file_bytes == encoded.path.stat().st_size


def test_range_decode_equals_full_decode(encoded):
    with codec.open(encoded.path, device="cpu") as coded:
        full = np.stack(list(coded.frames()))
        tail = np.stack(list(coded.frames(9, 11)))  # the short last group first ...
        middle = np.stack(list(coded.frames(3, 6)))  # ... then back: the latent chain restarts
        one = np.stack(list(coded.frames(5, 6)))
    assert np.array_equal(tail, full[9:11])
    assert np.array_equal(middle, full[3:6])
    assert np.array_equal(one, full[5:6])


def test_range_decode_renders_only_the_groups_asked_for(encoded, monkeypatch):
    rendered: list[int] = []
    real = nirvana_decode.render_patches
    monkeypatch.setattr(nirvana_decode, "render_patches",
                        lambda net, grid, count, device, **kw: rendered.append(count) or real(net, grid, count, device, **kw))
    with codec.open(encoded.path, device="cpu") as coded:
        list(coded.frames(9, 11))
    assert rendered == [3]  # the last group only; groups 0 and 1 were integer adds


def test_open_reads_group_heads_and_decode_only_the_chunks_it_needs(encoded, monkeypatch):
    from bitstream.container import StreamReader

    full: list[int] = []
    heads: list[tuple[int, int]] = []
    real_full, real_head = StreamReader.read_chunk, StreamReader.read_chunk_head
    monkeypatch.setattr(StreamReader, "read_chunk", lambda self, i: full.append(i) or real_full(self, i))
    monkeypatch.setattr(StreamReader, "read_chunk_head",
                        lambda self, i, n: heads.append((i, n)) or real_head(self, i, n))
    with codec.open(encoded.path, device="cpu") as coded:
        sizes = [c.size for c in coded.chunks]
        coded.decoder  # lays the groups out
        assert full == [] and [i for i, _ in heads] == [0, 1, 2]
        assert all(n < min(sizes) for _, n in heads)  # a few bytes of each chunk, not its payload
        first = np.stack(list(coded.frames(0, 2)))
        assert full == [0]  # group 0 alone
        list(coded.frames(4, 5))
        assert full == [0, 1]  # the chain goes on from group 0
    assert first.shape == (2, 36, 40, 3)


def test_decoded_integers_and_weights_equal_encoded(clip, tmp_path, monkeypatch):
    path, _ = clip
    encoded_codes: list[list[np.ndarray]] = []
    encoded_weights: list[list[torch.Tensor]] = []
    real = LatentNetwork.codes

    def spy(self):
        out = real(self)
        encoded_codes.append([c.copy() for c in out])
        with torch.no_grad():
            encoded_weights.append([t.weight().clone() for t in self.tensors])
        return out

    monkeypatch.setattr(LatentNetwork, "codes", spy)
    out = tmp_path / "spy.inrv"
    codec.encode(path, out, _cfg(steps=15))
    assert len(encoded_codes) == 3
    with codec.open(out, device="cpu") as coded:
        decoder = coded.decoder
        for g, (codes, weights) in enumerate(zip(encoded_codes, encoded_weights)):
            decoder.advance(g)
            assert all(np.array_equal(a, b) for a, b in zip(decoder.codes, codes))
            decoder.load()  # the weights the decoder renders with: decoders and kernel maps applied
            for trained, decoded in zip(weights, decoder.net.parameters()):
                assert torch.allclose(trained, decoded, rtol=0, atol=1e-6)


def test_static_clip_costs_little_after_the_first_group(carphone_frames, tmp_path):
    frames = np.repeat(carphone_frames[:1, 40:88, 48:112], 16, axis=0)  # 16 identical frames
    src = tmp_path / "static.y4m"
    write_video(src, np.ascontiguousarray(frames), fps=25)
    out = tmp_path / "static.inrv"
    result = codec.encode(src, out, _cfg(steps=40))
    with codec.open(out, device="cpu") as coded:
        sizes = [c.total for c in coded.chunks if c.kind == CHUNK_GROUP]
        table = coded.describe_chunks(values=True)
    assert len(sizes) == 4
    assert all(size < 0.1 * sizes[0] for size in sizes[1:]), sizes
    rows = [line.split() for line in table.splitlines()[1:-1]]  # the last line: the decoders
    assert [row[2] for row in rows[1:]] == ["0", "0", "0"]  # steps: the first group's net fits
    assert [row[-1] for row in rows[1:]] == ["0.00%"] * 3  # no non-zero residual
    flat = float(psnr_rgb(frames, np.full_like(frames, 128)).mean())
    assert result.psnr_rgb > flat + 1.0


def test_info_shows_the_group_table(encoded):
    text = describe_stream(encoded.path, values=True)
    assert "group" in text and "nonzero" in text
    table = text[text.index("nonzero"):].splitlines()[1:]
    assert [row.split()[0] for row in table[:3]] == ["0", "1", "2"]
    assert table[2].split()[1] == "8..10"
    # the three 3x3 convs of a group network each have a 9x9 float16 map
    assert table[3].endswith("kernel maps for 3 convolutions (486 bytes)")


def test_encoder_reads_group_by_group(clip):
    path, frames = clip
    family = get_family("nirvana")
    geometry = Geometry(40, 36, len(frames), Fraction(25))
    enc = _cfg(steps=5)
    config = family.make_config(enc, geometry)
    chunks: list[tuple[int, bytes]] = []
    source = RecordingSource(frames, geometry)
    stats = family.encode(config, source, enc, lambda kind, data: chunks.append((kind, data)),
                          torch.device("cpu"))
    assert source.reads == [(0, 4), (4, 4), (8, 3)]
    assert [kind for kind, _ in chunks] == [CHUNK_GROUP] * 3
    assert [(g.first, g.frames) for g in stats.groups] == [(0, 4), (4, 4), (8, 3)]
    assert [g.bytes for g in stats.groups] == [len(data) for _, data in chunks]
    assert [g.key for g in stats.groups] == [True, False, False]


def test_group_chunk_round_trip_and_validation():
    shapes = [(3, 2), (4,), (2, 1, 3, 3), (2, 2, 1, 1)]
    residuals = (np.array([[1, -2], [0, 0], [5, 7]]), np.zeros(4, dtype=np.int64),
                 np.arange(18).reshape(2, 1, 3, 3) - 9, np.ones((2, 2, 1, 1), dtype=np.int64))
    kernel = (np.eye(9) + 0.1 * np.arange(81).reshape(9, 9) / 81).astype(np.float16)
    plain = (LayerDecoder(0.5, 0.0), LayerDecoder(0.25, -1.0), LayerDecoder(0.125, 0.5), LayerDecoder(1.0, 0.0))
    mapped = plain[:2] + (LayerDecoder(0.125, 0.5, kernel),) + plain[3:]
    assert plain != mapped and mapped[2] == LayerDecoder(0.125, 0.5, kernel.copy())
    assert mapped[2] != LayerDecoder(0.125, 0.5, (kernel * 2).astype(np.float16))
    sizes = {}
    for name, decoders in (("plain", plain), ("mapped", mapped), ("none", None)):
        record = GroupRecord(steps=17, decoders=decoders, residuals=residuals)
        data = write_group(record)
        sizes[name] = len(data)
        back = read_group(data, shapes)
        assert back.steps == 17 and back.decoders == decoders
        assert all(np.array_equal(a, b) for a, b in zip(back.residuals, residuals))
    assert sizes["mapped"] - sizes["plain"] == 81 * 2  # one 9x9 float16 map, only for the 3x3 conv
    with pytest.raises(ValueError):  # a map on a tensor that is not a multi-tap conv
        write_group(GroupRecord(1, (LayerDecoder(1.0, 0.0, kernel),) + mapped[1:], residuals))
    data = write_group(GroupRecord(steps=1, decoders=None, residuals=residuals))
    # the earlier layout (no flag 8: every tensor record repeats its shape) still reads, and a
    # record whose size disagrees with the model's tensor is refused there
    legacy = ByteWriter()
    legacy.u8(0)
    legacy.uvarint(1)
    for r in residuals:
        write_ints(legacy, r.reshape(-1))
    legacy = legacy.getvalue()
    assert data[0] == FLAG_BARE and legacy[1:2] == data[1:2]
    assert all(np.array_equal(a, b) for a, b in zip(read_group(legacy, shapes).residuals, residuals))
    assert len(data) < len(legacy)  # the shapes the decoder already knows are not stored
    with pytest.raises(BitstreamError):
        read_group(legacy, [(3, 2), (5,)] + shapes[2:])  # a tensor of the wrong size
    for flags in (0x80, 0x02):  # an unknown flag; kernel maps without decoders
        with pytest.raises(BitstreamError):
            read_group(bytes([flags]) + data[1:], shapes)
    with pytest.raises(BitstreamError):
        read_group(data[:-1], shapes)  # truncated
    with pytest.raises(BitstreamError):
        read_group(data + b"\0", shapes)  # trailing bytes
    bad = bytearray(write_group(GroupRecord(1, mapped, residuals)))
    at = 2 + 8 * len(shapes)  # flags, steps, scale/shift pairs, then the map
    bad[at : at + 2] = np.array([np.inf], dtype="<f2").tobytes()
    with pytest.raises(BitstreamError, match="non-finite"):
        read_group(bytes(bad), shapes)


def test_kernel_maps_decode_to_the_trained_weights():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 3)
    plain, mapped = LatentTensor(conv.weight), LatentTensor(conv.weight, kernel_map=True)
    assert plain.kernel is None and mapped.kernel.shape == (9, 9)
    assert torch.equal(plain.weight(), mapped.weight())  # the map starts as the identity
    with torch.no_grad():
        mapped.kernel.add_(0.05 * torch.randn(9, 9))
        mapped.log_step.add_(1.0)  # coarser bins, so the map visibly decides the weights
    mapped.weight().square().sum().backward()
    assert mapped.kernel.grad is not None and mapped.kernel.grad.abs().sum() > 0
    decoder = mapped.decoder()
    assert decoder.kernel.dtype == np.float16
    decoded = layer_weights(decoder, mapped.codes().numpy())
    assert torch.allclose(decoded, mapped.weight().detach(), atol=1e-6)
    assert not torch.allclose(decoded, layer_weights(LayerDecoder(decoder.scale, decoder.shift), mapped.codes().numpy()))
    mapped.next_group()  # residual coding: the map is frozen with the rest of the decoder
    assert not mapped.kernel.requires_grad and mapped.delta.requires_grad


def test_residual_step_is_a_share_of_the_tensor_spread_at_any_bin_size():
    """A later group's trained residual moves each tensor by the same share of its spread whatever
    the bin size group 0 chose (fine bins at high quality settings, coarse ones at low), and by at
    least one bin per unit for tensors whose codes are mostly 0 and +-1."""
    torch.manual_seed(0)
    weight = 0.1 * torch.randn(64, 32)
    moves = []
    for log_step in (-7.0, -5.0):  # bins of 0.0009 and 0.0067: about 110 and 15 bins of spread
        t = LatentTensor(weight)
        with torch.no_grad():
            t.log_step.fill_(log_step)
        t.next_group()
        start = t.weight().detach().clone()
        with torch.no_grad():
            t.delta.add_(1.0)  # one unit of the trained residual
        moves.append(float((t.weight().detach() - start).mean()) / float(weight.std()))
        assert torch.allclose(t.gain, t.prev.std(unbiased=False) * residual.RESIDUAL_SPREAD, rtol=1e-6)
    assert moves[0] == pytest.approx(moves[1], rel=0.05)
    assert moves[0] == pytest.approx(residual.RESIDUAL_SPREAD, rel=0.05)
    coarse = LatentTensor(weight)
    with torch.no_grad():
        coarse.log_step.fill_(0.0)  # bins of 1.0: every code is 0
    coarse.next_group()
    assert float(coarse.gain) == residual.RESIDUAL_SPREAD  # one bin, not a fraction of one


def test_later_groups_keep_the_first_groups_biases(encoded):
    with codec.open(encoded.path, device="cpu") as coded:
        records = [coded.decoder.record(g) for g in range(3)]
    biases = [i for i, r in enumerate(records[0].residuals) if r.ndim == 1]
    weights = [i for i, r in enumerate(records[0].residuals) if r.ndim > 1]
    assert biases and all(np.count_nonzero(records[0].residuals[i]) for i in biases)
    for record in records[1:]:  # trained (steps > 0), yet biases unchanged, weights not
        assert record.steps > 0
        assert all(not np.any(record.residuals[i]) for i in biases)
        assert any(np.any(record.residuals[i]) for i in weights)


def test_patch_grid_covers_any_size():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, 37, 50, 3), dtype=np.uint8)
    grid = PatchGrid(37, 50, 16)
    assert (grid.rows, grid.cols) == (3, 4)
    tubes = grid.tubes(frames)  # (patches, P, P, 3 n)
    assert tubes.shape == (12, 16, 16, 9)
    as_output = tubes.view(12, 16, 16, 3, 3).permute(0, 3, 1, 2, 4).numpy()  # (patches, n, P, P, 3)
    assert np.array_equal(grid.assemble(np.ascontiguousarray(as_output)), frames)
    # what fit compares: the samples channel-first against the network's (B, 3 G, P, P) output
    chw = torch.from_numpy(np.ascontiguousarray(as_output)).permute(0, 1, 4, 2, 3).flatten(1, 2)
    assert torch.equal(chw, tubes.permute(0, 3, 1, 2))


def test_config_options_and_errors():
    family = get_family("nirvana")
    geometry = Geometry(176, 144, 30, Fraction(25))
    config = family.make_config(EncodeConfig.of(model="nirvana", gop=6, patch=24), geometry)
    assert (config.gop, config.patch, config.strides) == (6, 24, (2, 2, 2))
    assert family.unpack(family.pack(config)) == config
    default = family.make_config(EncodeConfig.of(model="nirvana"), geometry)
    assert (default.gop, default.patch) == (nirvana_config.DEFAULT_GOP, 8)
    small = family.make_config(EncodeConfig.of(model="nirvana"), Geometry(88, 72, 30, Fraction(25)))
    assert small.patch == 16  # small frames keep larger patches
    four = family.make_config(EncodeConfig.of(model="nirvana", patch=4), geometry)
    assert (four.strides, four.base) == ((2,), 2)  # the smallest patch grows from a 2 x 2 map
    with pytest.raises(ConfigError):
        family.make_config(EncodeConfig.of(model="nirvana", patch=7), geometry)
    with pytest.raises(ConfigError):
        family.make_config(EncodeConfig.of(model="nirvana", preset="huge"), geometry)


def test_time_budget_is_shared_by_the_groups(clip, tmp_path):
    path, _ = clip
    out = tmp_path / "budget.inrv"
    result = codec.encode(path, out, EncodeConfig.of(model="nirvana", device="cpu", progress=False, gop=GOP,
                                                  patch=PATCH, time_budget=1.5))
    assert result.steps > 0
    assert result.encode_seconds < 1.5 + 10  # training bounded; the rest is I/O and measuring


def test_progress_shows_the_whole_video_and_each_group(clip, tmp_path, capsys):
    """Besides each group's training bar, one bar follows the whole video: frames done out of all,
    and the last group's steps, bytes and PSNR."""
    path, _ = clip
    result = codec.encode(path, tmp_path / "p.inrv", EncodeConfig.of(model="nirvana", device="cpu", gop=GOP,
                                                                   patch=PATCH, steps=12))
    err = capsys.readouterr().err
    assert "nirvana group 1/3" in err  # group 0's own bar
    assert "11/11" in err and "frame/s" in err  # the video's bar reached the end
    with codec.open(result.path, device="cpu") as coded:
        for g, chunk in enumerate(coded.chunks):
            steps = coded.decoder.record(g).steps
            assert f"group {g}: {steps} steps, {chunk.size} bytes, " in err
