"""The contract's quality side, per registered family (parametrised from the registry, like
``test_contract.py``): tests that a useless family fails. See :mod:`tests.codec.rd_checks` for the
fixed check encode, the bounds and why they are safe.

* The decoded clip beats the clip's mean frame by a margin no grey or stuck output can reach.
* Training's rate estimate is within the family's declared tolerance of the file's bits (or the
  family declares that it has no comparable estimate, and the test is skipped saying so).
* bpp and PSNR match the family's expected-result file (``tests/codec/data/rd/<family>.json``,
  rewritten by ``python -m tests.codec.make_rd_expected``).
* Two test doubles, a family whose decoder renders grey frames and one that repeats its first
  frame, registered for the test, are rejected by the same floor and regression checks.

One encode per family serves every check (module-scoped).
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

import codec.registry as registry
from codec.family import Decoder
from codec.finalcheck import Check
from codec.registry import family_names, get_family
from tests.codec.rd_checks import (
    check_encode,
    check_options,
    check_quality_floor,
    check_rate_estimate,
    check_rd,
    decoded_frames,
    load_expected,
    write_check_clip,
)

FAMILIES = family_names()


@pytest.fixture(scope="module")
def check_clip(tmp_path_factory):
    """The check clip as a .y4m, and its frames as an encoder reads them."""
    src = tmp_path_factory.mktemp("check") / "check.y4m"
    return src, write_check_clip(src)


@pytest.fixture(scope="module", params=FAMILIES)
def checked(request, check_clip, tmp_path_factory):
    """(family, its check encode's EncodeResult, the reference frames, the decoded frames)."""
    src, reference = check_clip
    family = request.param
    result = check_encode(family, src, tmp_path_factory.mktemp("check") / f"{family}.inrv")
    return family, result, reference, decoded_frames(result.path)


def test_beats_the_mean_frame(checked):
    family, _, reference, decoded = checked
    check_quality_floor(family, reference, decoded)


def test_rate_estimate_is_near_the_file(checked):
    family, result, _, _ = checked
    tolerance = get_family(family).rate_estimate_tolerance
    if tolerance is None:
        pytest.skip(f"{family} declares no training-time rate estimate comparable to the file "
                    "(rate_estimate_tolerance = None)")
    check_rate_estimate(family, result, tolerance)


def test_rd_matches_the_expected_result(checked):
    family, result, _, _ = checked
    check_rd(family, result, load_expected(family))


@pytest.mark.parametrize("family", FAMILIES)
def test_rate_estimate_tolerance_is_declared(family):
    """Every family decides: a tolerance (its reason next to it) or None (no comparable estimate)."""
    cls = type(get_family(family))
    declared = [c for c in cls.__mro__ if "rate_estimate_tolerance" in vars(c)]
    assert declared, f"{family} does not declare rate_estimate_tolerance (a float, or None)"
    tolerance = cls.rate_estimate_tolerance
    assert tolerance is None or 0 < tolerance < 1


# --- test doubles: useless families must fail the checks above ---------------------------------

#: The real family the doubles are made of (its check encode is the cheapest), and their ids:
#: unused by the registry, registered only inside the test.
DOUBLE_OF = "nirvana"
DOUBLE_IDS = {"grey": 65000, "stuck": 65001}


class _Useless(Decoder):
    """Renders grey frames (``kind`` "grey") or the real decoder's first frame again and again ("stuck")."""

    def __init__(self, real: Decoder, kind: str, shape: tuple[int, int]) -> None:
        self.real, self.kind, self.shape = real, kind, shape

    def render(self, start: int, stop: int):
        if self.kind == "grey":
            frame = np.full((*self.shape, 3), 128, np.uint8)
        else:
            frame = next(iter(self.real.render(0, 1)))[0]
        yield np.repeat(frame[None], stop - start, axis=0)


def useless_family(kind: str):
    """An instance of a subclass of :data:`DOUBLE_OF`'s family that encodes as it does and
    decodes uselessly."""
    base = type(get_family(DOUBLE_OF))

    class Useless(base):
        name = f"{kind}-{DOUBLE_OF}"
        family_id = DOUBLE_IDS[kind]

        def decoder(self, config, geometry, stream, device):
            real = super().decoder(config, geometry, stream, device)
            return _Useless(real, kind, (geometry.height, geometry.width))

    return Useless()


@pytest.mark.parametrize("kind", sorted(DOUBLE_IDS))
def test_a_useless_family_fails_the_floor_and_the_regression(kind, check_clip, monkeypatch, tmp_path):
    src, reference = check_clip
    double = useless_family(kind)
    package = types.ModuleType(f"tests.codec.useless_{kind}")  # a family package and its family module
    package.OPTIONS, package.SUMMARY, package.STREAMS = double.options_cls, double.summary, double.streams
    module = types.ModuleType(f"{package.__name__}.family")
    module.FAMILY = double
    monkeypatch.setitem(sys.modules, package.__name__, package)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(registry.FAMILIES, double.family_id, (double.name, package.__name__))
    monkeypatch.setitem(registry.FAMILY_IDS, double.name, double.family_id)
    # the encoder's final check refuses such a file itself (tests/codec/test_finalcheck.py);
    # here the contract's own checks are under test, so the file is kept
    monkeypatch.setattr(Check, "verdict", lambda self: None)
    result = check_encode(double.name, src, tmp_path / "useless.inrv", options=check_options(DOUBLE_OF))
    assert result.model == double.name  # encoded and measured through the registry and the public API
    decoded = decoded_frames(result.path)
    assert len(np.unique(decoded.reshape(len(decoded), -1), axis=0)) == 1  # the double is what it claims
    with pytest.raises(AssertionError, match="under the floor"):
        check_quality_floor(double.name, reference, decoded)
    with pytest.raises(AssertionError, match=r"expected \S+ bpp"):
        check_rd(DOUBLE_OF, result, load_expected(DOUBLE_OF))
