"""Imports flow one way: bitstream <- codec <- eval <- scripts. Read from the source (every import
statement, also those inside functions), so a lazy import cannot hide an arrow the wrong way.

* bitstream imports neither codec, eval, torch nor compressai;
* codec never imports eval (``inrv eval`` is found through an entry point);
* eval uses codec's public API only: the modules below, not its families, tools or interface.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What eval may import of codec.
CODEC_PUBLIC = ("codec", "codec.config", "codec.errors", "codec.results", "codec.metrics", "codec.color",
                "codec.device", "codec.registry", "codec.video")


def imports(package: str) -> list[tuple[str, str]]:
    """(file, imported module) of every import statement under ``package``."""
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                out += [(path.name, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                out.append((path.name, node.module))
    return out


def top(module: str) -> str:
    return module.split(".")[0]


def test_the_scan_sees_imports():
    assert ("api.py", "codec.registry") in imports("codec")


def test_bitstream_imports_no_codec_eval_or_torch():
    assert [(f, m) for f, m in imports("bitstream") if top(m) in ("codec", "eval", "torch", "compressai")] == []


def test_codec_never_imports_eval():
    assert [(f, m) for f, m in imports("codec") if top(m) == "eval"] == []


@pytest.mark.parametrize("package", ["eval", "scripts"])
def test_eval_and_scripts_use_the_public_api_of_codec(package):
    private = [(f, m) for f, m in imports(package)
               if top(m) == "codec" and not any(m == p or m.startswith(p + ".") for p in CODEC_PUBLIC)]
    assert private == []
