"""A stream whose header asks for an enormous network (a valid config at the edge of its ranges)
is refused before anything is allocated: one BitstreamError, at once, for every family."""

from __future__ import annotations

import dataclasses
import time

import pytest

import codec
from bitstream import BitstreamError, StreamReader, encode_stream
from codec.config import EncodeConfig
from codec.registry import get_family

#: What each family's config allows at most, applied to a small real file's config: each of these
#: networks has hundreds of millions of parameters (gigabytes to allocate and initialise).
HUGE = {
    "nerv": dict(hidden=8192, c0=4096),
    "hnerv": dict(channels=None, kernels=None),  # filled in below: 1024 channels, 7x7, every stage
    "nirvana": dict(hidden=4096, mlp_layers=8, c0=1024),
}
REFUSE_WITHIN_S = 2.0


@pytest.fixture(scope="module", params=sorted(HUGE))
def small_file(request, tmp_path_factory, carphone_y4m):
    family = request.param
    out = tmp_path_factory.mktemp("hostile") / f"{family}.inrv"
    config = EncodeConfig.of(model=family, preset="xs", steps=2, count=2, device="cpu", progress=False)
    codec.encode(carphone_y4m, out, config)
    return family, out


def test_enormous_network_is_refused_before_allocation(small_file, tmp_path):
    family_name, path = small_file
    family = get_family(family_name)
    with StreamReader(path) as reader:
        header = reader.header
        chunks = [(info.kind, payload) for info, payload in reader.iter_chunks()]
    config = family.unpack(header.model_config)
    changes = dict(HUGE[family_name])
    if "channels" in changes:
        changes["channels"] = tuple(1024 for _ in config.channels)
        changes["kernels"] = tuple(7 for _ in config.kernels)
    hostile = dataclasses.replace(config, **changes)
    bad = tmp_path / "hostile.inrv"
    bad.write_bytes(encode_stream(dataclasses.replace(header, model_config=family.pack(hostile)), chunks))
    start = time.perf_counter()
    with pytest.raises(BitstreamError, match="parameters"):
        with codec.open(bad, device="cpu") as coded:
            list(coded.frames())
    assert time.perf_counter() - start < REFUSE_WITHIN_S


def test_config_under_the_cap_that_the_stream_does_not_hold_is_refused_unbuilt(tmp_path, carphone_y4m,
                                                                            monkeypatch):
    """130M parameters (under the cap) asked for by a header whose network chunk holds a tiny
    network: the shapes are compared on the meta device; the network (520 MB) is never built."""
    path = tmp_path / "nerv.inrv"
    codec.encode(carphone_y4m, path, EncodeConfig.of(model="nerv", preset="xs", steps=2, count=2,
                                                  device="cpu", progress=False))
    family = get_family("nerv")
    with StreamReader(path) as reader:
        header = reader.header
        chunks = [(info.kind, payload) for info, payload in reader.iter_chunks()]
    hostile = dataclasses.replace(family.unpack(header.model_config), hidden=8192, c0=160)
    bad = tmp_path / "hostile.inrv"
    bad.write_bytes(encode_stream(dataclasses.replace(header, model_config=family.pack(hostile)), chunks))
    built = []
    real_build = type(family).build_net

    def recording_build(self, config, geometry):
        net = real_build(self, config, geometry)
        built.append(next(net.parameters()).device.type)
        return net

    monkeypatch.setattr(type(family), "build_net", recording_build)
    with pytest.raises(BitstreamError, match="shape"):
        with codec.open(bad, device="cpu") as coded:
            list(coded.frames())
    assert built and set(built) == {"meta"}
