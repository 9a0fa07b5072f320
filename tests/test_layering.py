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
                "codec.device", "codec.registry", "codec.video", "codec.cli",  # codec.cli: eval.cli's parser
                "codec.streaminfo", "codec.demo")  # what `inrv info` reads, the demo the README runs


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


#: eval modules that measure or probe a family's insides, and so may import them: what each is for.
INTERNAL_BENCHES = {
    "collapse.py": "the collapse probe hooks a family's training and reads the final check's verdict",
    "decode_memory.py": "the decode-memory bench builds a family's decoder at large geometries",
    "grid_bench.py": "grid's bench times its context schemes and training pieces one by one",
    "motion_bench.py": "motion's bench times a training step of each frame type and counts its operations",
    "parallel_bench.py": "the parallel-encode bench plays motion's frame plan on paper with the scheduler",
}


def is_private(file: str, module: str) -> bool:
    """Whether ``file`` (of eval or scripts) importing ``module`` reaches past codec's public API
    (``codec`` itself, and the modules of :data:`CODEC_PUBLIC` with what is under them)."""
    return (top(module) == "codec" and file not in INTERNAL_BENCHES
            and not any(module == p or (p != "codec" and module.startswith(p + ".")) for p in CODEC_PUBLIC))


def test_the_public_api_check_tells_private_from_public():
    assert is_private("sweep.py", "codec.families.grid.net") and is_private("sweep.py", "codec.tools.fit")
    assert not is_private("sweep.py", "codec.video.frames") and not is_private("sweep.py", "codec")
    assert not is_private("grid_bench.py", "codec.families.grid.net")  # an internal bench


@pytest.mark.parametrize("package", ["eval", "scripts"])
def test_eval_and_scripts_use_the_public_api_of_codec(package):
    assert [(f, m) for f, m in imports(package) if is_private(f, m)] == []


# --- the import graph of codec, bitstream and eval, and what it must not hold ---------------------

PACKAGES = ("codec", "bitstream", "eval")
#: Modules that may import ``codec.cli``: the command line's own entry point (``inrv =
#: "codec.cli:main"``, ``python -m codec.cli``) and the sub-commands it loads through entry points.
CLI_IMPORTERS = {"codec.cli", "eval.cli"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST):
    """Every Import / ImportFrom in ``tree`` (inside functions and classes too), except those under
    ``if TYPE_CHECKING:`` (their ``else`` branch counts)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def import_graph(packages=PACKAGES) -> dict[str, set[str]]:
    """module -> the modules it names in import statements (``from a import b`` names ``a.b`` when
    that is a module, else ``a``; relative imports resolved). Only explicit imports count: a
    package's ``__init__`` is not implied by importing its submodule, and
    ``importlib.import_module`` (the registry loading a family by name) is not an import statement."""
    paths = {module_name(p): p for package in packages for p in sorted((ROOT / package).rglob("*.py"))}
    known = set(paths)
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in _import_nodes(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                edges |= {alias.name for alias in node.names}
                continue
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                edges.add(full if full in known else base)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]], within: str) -> list[str] | None:
    """One import cycle among the modules of package ``within`` (as ``[a, b, ..., a]``), or None."""
    nodes = {m for m in graph if m == within or m.startswith(within + ".")}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m] & nodes):
            if state.get(n) == 1:
                return path[path.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(nodes):
        if m not in state and (found := visit(m)):
            return found
    return None


GRAPH = import_graph()


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _all_arrows_to(target: str) -> list[tuple[str, str]]:
    return sorted((m, n) for m, edges in GRAPH.items() for n in edges if _under(n, target))


def _arrows(source: str, target: str) -> list[tuple[str, str]]:
    return sorted((m, n) for m, edges in GRAPH.items() if _under(m, source) for n in edges if _under(n, target))


def test_the_graph_sees_lazy_and_relative_imports():
    graph = import_graph()
    assert "codec.registry" in graph["codec.config"]
    assert "codec.encoder" in graph["codec.ratecontrol"]  # `from codec import encoder`
    assert "codec.families.grid.encode" in graph["codec.families.grid.family"]  # inside Family.encode
    assert "codec.tools.structure" not in graph["codec.family"]  # under `if TYPE_CHECKING:` only


def test_find_cycle_reports_a_cycle():
    graph = {"codec.a": {"codec.b"}, "codec.b": {"codec.c", "numpy"}, "codec.c": {"codec.a"}, "codec.d": set()}
    assert find_cycle(graph, "codec") == ["codec.a", "codec.b", "codec.c", "codec.a"]
    assert find_cycle({"codec.a": {"codec.b"}, "codec.b": set()}, "codec") is None


def test_no_import_cycle_in_codec():
    cycle = find_cycle(GRAPH, "codec")
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("source, target", [("bitstream", "codec"), ("bitstream", "eval"), ("codec", "eval"),
                                            ("codec.tools", "codec.families")])
def test_no_arrow_up(source, target):
    assert _arrows(source, target) == []


def test_only_entry_points_import_the_cli():
    assert [(m, n) for m, n in _all_arrows_to("codec.cli") if m not in CLI_IMPORTERS] == []
