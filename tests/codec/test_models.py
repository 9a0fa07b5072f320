"""Families, quantization in training and the model-config format."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from bitstream import BitstreamError
from bitstream.container import StreamReader, encode_stream, Header
from codec.config import EncodeConfig
from codec.configio import pack_config, unpack_config
from bitstream.records.kinds import CHUNK_EMBEDDINGS, CHUNK_NETWORK
from bitstream.records.tensorlist import unpack_tensors
from codec.family import Geometry
from codec.tools.fit import FitConfig, fit
from codec.tools.blocks import base_grid, plan_strides
from codec.families.hnerv.config import HnervConfig
from codec.families.nerv.config import NervConfig
from codec.tools.wholeclip import PRESETS
from codec.tools.qat import TensorQuantizer
from codec.registry import FAMILY_IDS, family_by_id, family_names, get_family

GEOMETRY = Geometry(176, 144, 6, Fraction(30))


def test_registry_ids_are_permanent():
    assert FAMILY_IDS["nerv"] == 1 and FAMILY_IDS["hnerv"] == 2
    assert len(set(FAMILY_IDS.values())) == len(FAMILY_IDS)
    for name in family_names():
        assert family_by_id(FAMILY_IDS[name]).name == name


@pytest.mark.parametrize("h,w", [(144, 176), (272, 640), (1080, 1920), (33, 45), (720, 1280)])
@pytest.mark.parametrize("stages", [4, 5])
def test_stride_plan_covers_the_frame(h, w, stages):
    strides = plan_strides(h, w, stages, target_cells=100)
    h0, w0 = base_grid(h, w, strides)
    p = math.prod(strides)
    assert h0 * p >= h and w0 * p >= w
    assert (h0 - 1) * p < h and (w0 - 1) * p < w  # no whole row or column of padding cells


@pytest.mark.parametrize("name", ["nerv", "hnerv"])
def test_presets_and_budgets_are_met(name):
    family = get_family(name)
    counts = []
    for preset in ("xs", "s", "m"):
        cfg = family.make_config(EncodeConfig.of(model=name, preset=preset), GEOMETRY)
        n = sum(p.numel() for p in family.build_net(cfg, GEOMETRY).parameters())
        assert 0.6 * PRESETS[preset] <= n <= PRESETS[preset]
        counts.append(n)
    assert counts == sorted(counts)
    cfg = family.make_config(EncodeConfig.of(model=name, params=30_000), GEOMETRY)
    assert sum(p.numel() for p in family.build_net(cfg, GEOMETRY).parameters()) <= 30_000


@pytest.mark.parametrize(
    "cfg",
    [
        NervConfig(20, 32, 8, (8, 6, 4, 4), (2, 2, 2, 2), (3, 3, 3, 3)),
        HnervConfig(16, (15, 12, 10, 9, 7), (3, 2, 2, 2, 2), (1, 3, 3, 3, 3)),
    ],
)
def test_config_bytes_round_trip_and_reject_garbage(cfg):
    data = pack_config(cfg)
    assert len(data) < 32
    assert unpack_config(type(cfg), data) == cfg
    with pytest.raises(BitstreamError):
        unpack_config(type(cfg), data[:-1])
    with pytest.raises(BitstreamError):
        unpack_config(type(cfg), data + b"\x00")
    with pytest.raises(BitstreamError):  # stage count that disagrees with the other tuples
        unpack_config(type(cfg), data.replace(bytes([len(cfg.strides)]), bytes([9]), 1))


def test_quantizer_rounds_to_its_step_and_learns_it():
    w = torch.nn.Parameter(torch.randn(1000))
    q = TensorQuantizer(w, init_bits=6)
    wq = q.quantize(w)
    codes = q.codes(w)
    assert torch.equal(wq, codes.float() * q.step)
    # the rate term pushes the step up (fewer levels, fewer bits)
    q.bits(w).backward()
    assert q.log_step.grad is not None and q.log_step.grad < 0


@pytest.mark.parametrize("name", ["nerv", "hnerv"])
def test_stream_integers_equal_trained_integers(name, carphone_frames):
    """The codes written are exactly round(w / s) of the trained model, and the decoder's weights
    are exactly the quantized weights the model was trained with."""
    family = get_family(name)
    cfg = family.make_config(EncodeConfig.of(model=name, preset="xs"), GEOMETRY)
    frames = torch.from_numpy(carphone_frames)
    model = family.trainable(cfg, GEOMETRY, frames)
    fit(model, frames, FitConfig(steps=5, progress=False), torch.device("cpu"))
    with torch.no_grad():
        chunks = model.chunks(frames)
    header = Header(176, 144, 6, 30, 1, family_id=family.family_id, model_config=pack_config(cfg))
    stream = StreamReader(encode_stream(header, chunks))
    net_chunk = next(i for i, c in enumerate(stream.chunks) if c.kind == CHUNK_NETWORK)
    tensors = unpack_tensors(stream.read_chunk(net_chunk))
    qnet = model.qnet
    trained = [(q.codes(p), q.quantize(p)) for _, p, q in qnet.quant.items(qnet.net)]
    assert len(tensors) == len(trained)
    for record, (codes, wq) in zip(tensors, trained):
        assert np.array_equal(record.codes, codes.numpy())
        assert np.array_equal(record.dequantize(), wq.detach().numpy())
    decoder_net = family.load_network(cfg, GEOMETRY, stream, torch.device("cpu"))
    for (_, p), (_, wq) in zip(decoder_net.named_parameters(), trained):
        assert torch.equal(p, wq.detach())
    if name == "hnerv":
        emb_chunk = next(i for i, c in enumerate(stream.chunks) if c.kind == CHUNK_EMBEDDINGS)
        (emb,) = unpack_tensors(stream.read_chunk(emb_chunk))
        with torch.no_grad():
            target = frames.permute(0, 3, 1, 2).float() / 255
            expected = model.emb_quant.codes(model.encoder(target))
        assert np.array_equal(emb.codes, expected.numpy())


def test_rate_knob_orders_the_estimate(carphone_frames):
    """A larger lambda gives fewer estimated bits after the same training."""
    family = get_family("nerv")
    cfg = family.make_config(EncodeConfig.of(model="nerv", preset="xs"), GEOMETRY)
    frames = torch.from_numpy(carphone_frames)
    bits = []
    for lmbda in (1e-4, 3e-1):
        torch.manual_seed(0)
        model = family.trainable(cfg, GEOMETRY, frames)
        stats = fit(model, frames, FitConfig(steps=60, lr=1e-2, lmbda=lmbda, progress=False),
                    torch.device("cpu"))
        bits.append(stats.estimated_bits)
    assert bits[1] < 0.8 * bits[0]
