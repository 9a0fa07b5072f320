"""eval.benchreport and the benches' report writers: a report is the saved rows' tables, reprinted
the same from the saved file (no encoding)."""

from __future__ import annotations

from eval import grid_bench as gb
from eval.benchreport import Section, command_line, markdown


def test_markdown_names_the_command_and_fences_each_table():
    text = markdown("T", "python scripts/x.py --report-only", [Section("A", "a  b\n1  2\n", "what it is")])
    assert text.startswith("# T\n") and "```\npython scripts/x.py --report-only\n```" in text
    assert "## A\n\nwhat it is\n\n```\na  b\n1  2\n```" in text


def test_command_line_quotes_its_arguments():
    assert command_line("bench_x.py", ["--clips", "a b"]) == "python scripts/bench_x.py --clips 'a b'"


def test_grid_rows_saved_then_reported(tmp_path):
    rows = [gb.Cost("carphone:8", 176, 144, 881.0, 578.0, 56.0, 247.0, 1.143),
            gb.StepRate("bikes:64", "grid", 40, 0.146, 174080.0),
            gb.SchemePoint("carphone:16", "causal", 24708, 0.4875, 30.87, 22808, 8.1)]
    path = tmp_path / "grid" / "results.jsonl"
    gb.save(path, rows)
    assert gb.load(path) == rows
    report = gb.write_report(path.parent / "report.md", gb.load(path), "python scripts/bench_grid.py").read_text()
    for table in (gb.cost_table(rows), gb.speed_table(rows), gb.scheme_table(rows)):
        assert table in report
    only_cost = gb.write_report(tmp_path / "r.md", rows[:1], "cmd").read_text()
    assert "Training speed" not in only_cost and "881" in only_cost


def test_variants_saved_run_reported(tmp_path):
    import json

    from eval.variants import write_report

    point = {"label": "plain l0.015", "bpp": 0.0713, "psnr_rgb": 28.42, "steps": 1868}
    run = {"family": "nerv", "clip": "carphone:32", "limits": {"time_budget": 60.0},
           "variants": {"plain": {"bd_rate": "-", "points": [point]},
                        "sin": {"bd_rate": "-10.9%", "points": [{**point, "label": "sin l0.015", "bpp": 0.075}]}}}
    (tmp_path / "nerv-carphone32-60s.json").write_text(json.dumps(run))
    text = write_report(tmp_path, "cmd").read_text()
    assert "## nerv-carphone32-60s" in text and "lambdas 0.015" in text
    assert "0.071" in text and "-10.9%" in text
