"""``import bitstream`` must stay light: numpy, constriction and stdlib only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_loads_no_torch_or_codec() -> None:
    code = (
        "import sys, bitstream\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'codec', 'eval', 'compressai')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
