"""eval.ladder: the hull, the distance below it, and the proposed ladder (synthetic points)."""

from __future__ import annotations

import math

from eval.ladder import SweepPoint, load, propose, shortfall, upper_hull


def pt(clip: str, density: float, lmbda: float, bpp: float, psnr: float) -> SweepPoint:
    return SweepPoint(clip, "hnerv", density, lmbda, 100 * int(clip.split(":")[1]) // 32, bpp, psnr, 1.0)


def test_upper_hull_drops_dominated_and_concave_points():
    pts = [pt("a:32", 1, 1, 0.1, 20.0), pt("a:32", 1, 2, 0.2, 25.0), pt("a:32", 1, 3, 0.4, 26.0),
           pt("a:32", 2, 1, 0.3, 24.0),  # dominated: costs more than (0.2, 25) for less
           pt("a:32", 2, 2, 0.8, 30.0), pt("a:32", 2, 3, 0.5, 26.5)]  # (0.4, 26) and (0.5, 26.5) under the chord
    hull = upper_hull(pts)
    assert [(p.bpp, p.psnr) for p in hull] == [(0.1, 20.0), (0.2, 25.0), (0.8, 30.0)]
    chord = 25.0 + 5.0 * (math.log(0.4) - math.log(0.2)) / (math.log(0.8) - math.log(0.2))
    assert abs(shortfall(pts[2], hull) - (chord - 26.0)) < 1e-9
    assert shortfall(pts[0], hull) == 0.0


def test_proposal_takes_cells_on_every_clips_hull_and_checks_they_rise():
    pts = []
    for clip, shift in (("a:32", 0.0), ("b:16", 3.0)):
        for i, d in enumerate((0.01, 0.02, 0.04, 0.08)):
            for j, lam in enumerate((1e-2, 1e-3)):
                bpp = 0.05 * 2**i * (1.3 if j else 1.0)
                psnr = 20 + shift + 4 * math.log2(bpp / 0.05) - (0.0 if j else 0.2) - (2.0 if (i, j) == (3, 0) else 0.0)
                pts.append(pt(clip, d, lam, bpp, psnr))
    prop = propose(pts, levels=4, tolerance=0.3)
    assert len(prop.cells) == 4 and (0.08, 1e-2) not in [c[:2] for c in prop.cells]  # 2 dB under the hull
    assert prop.monotone == {"a:32": True, "b:16": True}
    assert "q4" in prop.table


def test_lengths_are_in_the_family_unit():
    """The same epochs on clips of other lengths are one cell (whole-clip families: steps times
    the batch over the frames); nirvana's unit is steps."""
    a, b = pt("a:32", 0.02, 1e-3, 0.1, 20.0), pt("b:16", 0.02, 1e-3, 0.1, 20.0)
    assert a.steps == 2 * b.steps and a.cell == b.cell and a.length == 100 * 2 / 32
    assert SweepPoint("c:8", "nirvana", 0.1, 1e-3, 400, 0.1, 20.0, 1.0).length == 400


def test_load_reads_what_a_sweep_appends(tmp_path):
    import json
    from dataclasses import asdict

    path = tmp_path / "r.jsonl"
    assert load(path) == []
    p = pt("a:32", 0.01, 1e-3, 0.1, 20.0)
    path.write_text(json.dumps(asdict(p)) + "\n\n")
    assert load(path) == [p]
