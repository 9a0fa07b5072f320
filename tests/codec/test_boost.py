"""The trunk variants of nerv and hnerv (Boosting-NeRV's affine transforms and sinusoidal block,
NeRV++'s blocks), their ``trunk`` bits in the stream config (an optional trailing field: streams
without them keep their bytes), and the ``l1-ssim-fft`` training loss."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import pytest
import torch

import codec
from bitstream import BitstreamError, StreamReader, encode_stream
from bitstream.fields import ByteWriter
from codec.cli import _encode_config, build_parser
from codec.config import EncodeConfig
from codec.configio import pack_config, trailing, unpack_config
from codec.errors import ConfigError
from codec.family import Geometry
from codec.families.hnerv.config import HnervConfig
from codec.families.nerv.config import NervConfig
from codec.metrics import psnr_rgb
from codec.registry import get_family
from codec.tools.blocks import TRUNK_BITS, TRUNK_NERVPP, TRUNK_SFT, TRUNK_SIN
from codec.tools.fit import distortion, multiscale_ssim
from codec.tools.sizing import count_params
from codec.tools.wholeclip import PRESETS
from codec.video import write_video
from tests.codec.make_golden import golden_paths
from tests.codec.test_contract import training_modules_loaded_by_decoding

#: Each option alone, and all of them with the new loss.
VARIANTS = {
    "sft": {"sft": True},
    "sin": {"sin_block": True},
    "nervpp": {"nervpp": True},
    "all": {"sft": True, "sin_block": True, "nervpp": True, "loss": "l1-ssim-fft"},
}
BITS = {"sft": TRUNK_SFT, "sin": TRUNK_SIN, "nervpp": TRUNK_NERVPP, "all": TRUNK_BITS}
CONFIGS = [
    NervConfig(20, 32, 8, (8, 6, 4, 4), (2, 2, 2, 2), (3, 3, 3, 3)),
    HnervConfig(16, (15, 12, 10, 9, 7), (3, 2, 2, 2, 2), (1, 3, 3, 3, 3)),
]
CARPHONE = Geometry(176, 144, 120, Fraction(30))


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory, carphone_frames) -> tuple[object, np.ndarray]:
    """Six 45x33 frames (two render batches; odd sizes, so the trunk's output is cropped)."""
    frames = np.ascontiguousarray(carphone_frames[:, 50:83, 60:105])
    path = tmp_path_factory.mktemp("boost") / "clip"
    write_video(path, frames, fps=25)
    return path, frames


CASES = [(f, v) for f in ("nerv", "hnerv") for v in VARIANTS]


@pytest.fixture(scope="module")
def encoded(tmp_path_factory, small_clip) -> dict:
    """(family, variant) -> the result of the family's quick encode of the small clip with the
    variant's options (encoded on first use)."""
    src, _ = small_clip
    results: dict = {}

    def get(family: str, variant: str):
        if (family, variant) not in results:
            out = tmp_path_factory.mktemp("boost") / f"{family}-{variant}.inrv"
            options = {**get_family(family).quick_options, **VARIANTS[variant]}
            config = EncodeConfig(model=family, device="cpu", threads=1, progress=False, options=options)
            results[family, variant] = codec.encode(src, out, config)
        return results[family, variant]

    return get


@pytest.mark.parametrize("family,variant", CASES, ids=[f"{f}-{v}" for f, v in CASES])
def test_round_trip_from_disk_and_range_decode(encoded, small_clip, family, variant):
    result, reference = encoded(family, variant), small_clip[1]
    with codec.open(result.path, device="cpu") as coded:
        config = coded.config
        full = np.stack(list(coded.frames()))
        assert np.array_equal(np.stack(list(coded.frames(2, 5))), full[2:5])
        assert np.array_equal(np.stack(list(coded.frames(5, 6))), full[5:6])
        assert np.array_equal(np.stack(list(coded.frames(0, 1))), full[0:1])
    assert config.trunk == BITS[variant]
    assert full.shape == reference.shape == (6, 33, 45, 3)
    assert result.psnr_rgb == pytest.approx(float(psnr_rgb(reference, full).mean()), abs=1e-6)
    assert np.isfinite(result.psnr_rgb) and result.psnr_rgb > 10


def test_decoding_the_new_blocks_imports_nothing_of_training(encoded):
    """Streams with every block, opened and rendered in a fresh interpreter."""
    loaded, training = training_modules_loaded_by_decoding([encoded(f, "all").path for f in ("nerv", "hnerv")])
    assert {"codec.families.nerv.net", "codec.families.hnerv.net"} <= loaded
    assert not training


@pytest.mark.parametrize("family", ["nerv", "hnerv"])
def test_unknown_trunk_bits_in_a_stream_are_a_bitstream_error(encoded, tmp_path, family):
    with StreamReader(encoded(family, "sft").path) as reader:
        header = reader.header
        chunks = [(info.kind, payload) for info, payload in reader.iter_chunks()]
    config = get_family(family).unpack(header.model_config)
    forged = object.__new__(type(config))  # past __post_init__, as a hostile writer would pack it
    for f in dataclasses.fields(config):
        object.__setattr__(forged, f.name, getattr(config, f.name))
    object.__setattr__(forged, "trunk", TRUNK_SFT | 8)
    bad = tmp_path / "bad.inrv"
    bad.write_bytes(encode_stream(dataclasses.replace(header, model_config=pack_config(forged)), chunks))
    with pytest.raises(BitstreamError, match="trunk"):
        with codec.open(bad, device="cpu") as coded:
            list(coded.frames())


@pytest.mark.parametrize("cfg", CONFIGS, ids=["nerv", "hnerv"])
def test_trunk_is_an_optional_trailing_field(cfg):
    old = pack_config(cfg)  # trunk 0: the bytes of the configs written before the field existed
    assert cfg.trunk == 0 and unpack_config(type(cfg), old) == cfg
    for bits in range(1, TRUNK_BITS + 1):
        with_bits = dataclasses.replace(cfg, trunk=bits)
        data = pack_config(with_bits)
        assert data == old + bytes([bits])
        assert unpack_config(type(cfg), data) == with_bits
    with pytest.raises(BitstreamError, match="default"):  # one encoding per config: 0 is left out
        unpack_config(type(cfg), old + b"\x00")
    with pytest.raises(BitstreamError):
        unpack_config(type(cfg), old + b"\x01\x00")
    for bits in (8, 16, 2**30):
        w = ByteWriter()
        w.uvarint(bits)
        with pytest.raises(BitstreamError, match="invalid model config"):
            unpack_config(type(cfg), old + w.getvalue())
    with pytest.raises(ValueError):
        dataclasses.replace(cfg, trunk=TRUNK_BITS + 1)


@pytest.mark.parametrize("family", ["nerv", "hnerv"])
def test_golden_stream_configs_read_as_trunk_zero_and_keep_their_bytes(family):
    with StreamReader(golden_paths(family)[0]) as reader:
        data = reader.header.model_config
    config = get_family(family).unpack(data)
    assert config.trunk == 0 and get_family(family).pack(config) == data


def test_trailing_fields_must_come_last():
    @dataclasses.dataclass(frozen=True)
    class Misordered:
        a: int = trailing(0)
        b: int = 1

    with pytest.raises(TypeError, match="trailing"):
        pack_config(Misordered())


@pytest.mark.parametrize("family", ["nerv", "hnerv"])
@pytest.mark.parametrize("trunk", [TRUNK_SFT, TRUNK_SIN, TRUNK_NERVPP, TRUNK_BITS])
def test_width_search_is_monotone_and_meets_the_presets(family, trunk):
    fam = get_family(family)
    counts = []
    for m in np.geomspace(0.05, 4.0, 40):
        with torch.device("meta"):
            counts.append(count_params(fam.build_net(fam.build_config(float(m), CARPHONE, trunk), CARPHONE)))
    assert counts == sorted(counts)
    options = {"sft": bool(trunk & TRUNK_SFT), "sin_block": bool(trunk & TRUNK_SIN),
               "nervpp": bool(trunk & TRUNK_NERVPP)}
    for preset in ("xs", "s", "m"):
        config = fam.make_config(EncodeConfig.of(model=family, preset=preset, **options), CARPHONE)
        assert config.trunk == trunk
        with torch.device("meta"):
            n = count_params(fam.build_net(config, CARPHONE))
        assert 0.6 * PRESETS[preset] <= n <= PRESETS[preset]


def test_options_set_the_trunk_bits_and_are_switches():
    args = build_parser().parse_args(["encode", "in.y4m", "-o", "out.inrv", "--model", "nerv", "--sft",
                                      "--nervpp", "--loss", "l1-ssim-fft"])
    options = _encode_config(args).options
    assert options.trunk == TRUNK_SFT | TRUNK_NERVPP and options.loss == "l1-ssim-fft"
    plain = _encode_config(build_parser().parse_args(["encode", "in.y4m", "-o", "out.inrv"])).options
    assert plain.trunk == 0 and plain.sft is None and plain.loss is None
    with pytest.raises(ConfigError, match="--sft must be true or false"):
        EncodeConfig(model="hnerv", options={"sft": 1})
    with pytest.raises(ConfigError, match="loss"):
        EncodeConfig(model="hnerv", options={"loss": "l2"})


@pytest.mark.parametrize("shape", [(2, 3, 20, 24), (2, 3, 33, 45), (2, 3, 144, 176)])
def test_frequency_loss_is_finite_with_finite_gradients(shape):
    gen = torch.Generator().manual_seed(0)
    target = torch.rand(shape, generator=gen)
    for pred in (target + 0.05 * torch.randn(shape, generator=gen), torch.full(shape, 0.5)):
        pred = pred.clamp(0, 1).requires_grad_()
        loss = distortion(pred, target, "l1-ssim-fft")
        loss.backward()
        assert torch.isfinite(loss) and loss > 0 and torch.isfinite(pred.grad).all()
    assert float(distortion(target, target, "l1-ssim-fft")) == pytest.approx(0.0, abs=1e-5)


def test_multiscale_ssim_shrinks_its_window_before_falling_back():
    from pytorch_msssim import ms_ssim, ssim

    gen = torch.Generator().manual_seed(1)
    a, b = torch.rand(1, 3, 144, 176, generator=gen), torch.rand(1, 3, 144, 176, generator=gen)
    assert multiscale_ssim(a, b) == ms_ssim(a, b, data_range=1.0, win_size=9)
    small_a, small_b = a[..., :24, :30], b[..., :24, :30]
    assert multiscale_ssim(small_a, small_b) == ssim(small_a, small_b, data_range=1.0, win_size=11)
