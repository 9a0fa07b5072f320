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
    assert r.size == pytest.approx(0.02) and r.lmbda == pytest.approx(10**-2.5)
    assert r.length == pytest.approx(400 * 2**0.5)
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


@pytest.mark.parametrize("family", ["nerv", "hnerv", "nirvana"])
def test_every_family_ladder_covers_the_quality_range(family):
    from codec.config import QUALITIES

    ladder = _ladder(family)
    assert ladder.top == len(QUALITIES)
    assert ladder.measured.startswith("scripts/sweep_ladder.py")


def _ladder(family):
    import importlib

    return importlib.import_module(f"codec.families.{family}.ladder").LADDER


@pytest.mark.parametrize("family", ["nerv", "hnerv"])
def test_quality_chooses_size_lambda_and_epochs_together(family):
    """A higher level trains a bigger network with a smaller lambda for more steps; each part can
    be given instead by its own option."""
    from codec.tools.fitoptions import quality_rung, rate_lambda, size_density

    fam, geometry = get_family(family), Geometry(176, 144, 32, 25)
    low, high = (EncodeConfig.of(model=family, quality=q) for q in (2, 7))
    sizes = [count_params(fam.build_net(fam.make_config(e, geometry), geometry)) for e in (low, high)]
    assert sizes[1] > 2 * sizes[0]
    rl, rh = quality_rung(low, fam.ladder), quality_rung(high, fam.ladder)
    assert rate_lambda(low, rl) > rate_lambda(high, rh)
    assert fam.ladder_steps(rh.length, 32) > fam.ladder_steps(rl.length, 32)
    # epochs: twice the frames, twice the steps
    assert fam.ladder_steps(rl.length, 64) == pytest.approx(2 * fam.ladder_steps(rl.length, 32), abs=1)
    given = EncodeConfig.of(model=family, quality=7, lmbda=0.05, preset="xs")
    assert rate_lambda(given, rh) == 0.05 and size_density(given.options, rh) is None
    from codec.tools.wholeclip import PRESETS

    xs = count_params(fam.build_net(fam.make_config(given, geometry), geometry))
    assert xs <= PRESETS["xs"] < sizes[1]


def test_nirvana_quality_sets_the_first_group_steps(tmp_path):
    """nirvana's ladder length is group 0's steps, whatever the clip's length (one group here: a
    still clip, no scene cut)."""
    import numpy as np

    import codec
    from codec.video import write_video

    frames = np.repeat(np.random.default_rng(0).integers(0, 255, (1, 32, 32, 3), dtype=np.uint8), 2, axis=0)
    src = tmp_path / "c.y4m"
    write_video(src, frames, fps=25)
    steps = []
    for q in (1, 2):
        r = codec.encode(src, tmp_path / f"q{q}.inrv",
                         EncodeConfig.of(model="nirvana", quality=q, threads=1, progress=False, gop=2, patch=16))
        steps.append(r.steps)
    assert steps == [_ladder("nirvana").at(q).length for q in (1, 2)]
