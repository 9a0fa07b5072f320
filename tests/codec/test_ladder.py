"""Quality ladders (codec.tools.ladder) and sizes given as a density (--density)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from codec.config import EncodeConfig
from codec.errors import ConfigError
from codec.family import Geometry
from codec.registry import get_family
from codec.tools.ladder import Ladder, Rung
from codec.tools.sizing import count_params

LADDER = Ladder((Rung(0.01, 1e-2, 400), Rung(0.04, 1e-3, 800), Rung(0.16, 1e-4, 1600)))


def test_integer_levels_are_the_rungs():
    assert LADDER.at(1) == LADDER.rungs[0] and LADDER.at(3) == LADDER.rungs[2]
    assert LADDER.top == 3


def test_between_levels_size_and_lambda_are_geometric():
    r = LADDER.at(1.5)
    assert r.size == pytest.approx(0.02) and r.lmbda == pytest.approx(10**-2.5) and r.steps == 600
    r = LADDER.at(2.25)
    assert LADDER.rungs[1].size < r.size < LADDER.rungs[2].size


@pytest.mark.parametrize("q", [0, 0.99, 3.01, 9])
def test_levels_outside_the_ladder_are_refused(q):
    with pytest.raises(ConfigError):
        LADDER.at(q)


def test_rungs_must_rise():
    with pytest.raises(ValueError):
        Ladder((Rung(0.04, 1e-3, 800), Rung(0.01, 1e-2, 400)))
    with pytest.raises(ValueError):
        Rung(0.0, 1e-3, 10)


@pytest.mark.parametrize("family", ["nerv", "hnerv", "nirvana"])
def test_density_sizes_follow_the_clip(family):
    """The same density gives a network about proportional to the clip's pixels (whole-clip
    families) or to a group's (nirvana), within the width search's rounding."""
    fam = get_family(family)
    sizes = []
    for frames in (16, 64):
        geometry = Geometry(176, 144, frames, 25)
        enc = EncodeConfig.of(model=family, density=0.05)
        sizes.append(count_params(fam.build_net(fam.make_config(enc, geometry), geometry)
                                  if family != "nirvana" else _nirvana_net(fam, enc, geometry)))
    if family == "nirvana":  # per group: the clip's length does not change a group's network
        assert sizes[0] == sizes[1]
    else:
        assert 3.0 < sizes[1] / sizes[0] <= 4.2
        assert sizes[1] <= 0.05 * 176 * 144 * 64


def _nirvana_net(fam, enc, geometry):
    from codec.families.nirvana.net import NirvanaNet
    from codec.tools.patches import PatchGrid

    config = fam.make_config(enc, geometry)
    return NirvanaNet(config, PatchGrid(geometry.height, geometry.width, config.patch))


def test_density_is_one_size_option_among_preset_and_params(tmp_path):
    out = subprocess.run([sys.executable, "-m", "codec.cli", "encode", str(tmp_path / "x.y4m"), "-o",
                          str(tmp_path / "y.inrv"), "--preset", "s", "--density", "0.1"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "--density: not allowed with argument --preset" in out.stderr
    assert "Traceback" not in out.stderr and not (tmp_path / "y.inrv").exists()
    with pytest.raises(ConfigError):
        EncodeConfig.of(model="hnerv", density=0.0)
