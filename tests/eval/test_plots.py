"""RD plots: legends outside every panel (they never cover a point), log axes labelled at several ticks."""

from __future__ import annotations

import pytest

from eval.plots import Curve, TimeCurve, log_ticks, rd_plot, time_plot


def _labelled(ax) -> list[float]:
    lo, hi = ax.get_xlim()
    return [t for t in ax.get_xticks() if lo <= t <= hi]


@pytest.mark.parametrize("lo, hi", [(0.08, 0.15), (0.02, 0.3), (0.004, 0.9), (1.2, 40.0)])
def test_log_axes_carry_three_numbers_or_more(lo, hi):
    subs = log_ticks(lo, hi)
    inside = [m * 10.0**k for k in range(-4, 3) for m in subs if lo <= m * 10.0**k <= hi]
    assert len(inside) >= 3
    assert (subs == (1.0, 2.0, 5.0)) == (hi / lo > 3)  # the coarsest steps where they give three


def _check_figure(fig) -> None:
    """Each log axis labels 3+ ticks; the legend's box meets no panel's box."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    panels = [ax for ax in fig.axes]
    legends = [ax.get_legend() for ax in panels if ax.get_legend() is not None]
    assert len(legends) == 1
    box = legends[0].get_window_extent(renderer)
    for ax in panels:
        assert not box.overlaps(ax.get_window_extent(renderer)), ax.get_ylabel()
        assert len(_labelled(ax)) >= 3, (ax.get_xlim(), ax.get_xticks())


def test_rd_plot_legend_outside_and_ticks(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    kept = []
    monkeypatch.setattr(plt, "close", kept.append)  # inspect the figure after it is saved
    curves = [Curve(f"method {i}", "inrv" if i % 2 else "anchor",
                    {"bpp": [0.08 + 0.01 * i, 0.1 + 0.01 * i, 0.14], "psnr-rgb": [28.0 + i, 30.0 + i, 32.0],
                     "psnr-yuv": [30.0, 32.0, 34.0], "ms-ssim": [0.9, 0.93, 0.95]}) for i in range(6)]
    path = rd_plot(tmp_path / "rd.png", "folder: clip", curves)
    assert path.read_bytes()[:4] == b"\x89PNG"
    _check_figure(kept[0])


def test_time_plot_legend_outside(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    kept = []
    monkeypatch.setattr(plt, "close", kept.append)
    time_plot(tmp_path / "t.png", "speed", [TimeCurve("a", (3.0, 9.0, 30.0), (25.0, 27.0, 28.0)),
                                            TimeCurve("b", (5.0, 20.0, 60.0), (25.5, 27.5, 29.0))])
    _check_figure(kept[0])
