"""The generated reports of the benchmarks: ``docs/data/<bench>/report.md``, written from a bench's
saved results by the bench itself (and again by its ``--report-only``), so that a measured table in
the docs is never typed by hand. A report is the command that reprints it and the tables the bench
prints, each under a heading, as fixed-width text in a fenced block (the same characters as on the
terminal).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Section", "command_line", "markdown", "write_report"]


@dataclass(frozen=True)
class Section:
    """One table of a report: a heading, the printed table, and a line on what it shows (optional)."""

    title: str
    table: str
    note: str = ""


def command_line(script: str, argv: Sequence[str] | None = None) -> str:
    """``python scripts/<script> ARGS``: the command a report names (``argv``: this process's by default)."""
    args = sys.argv[1:] if argv is None else list(argv)
    return " ".join(["python", f"scripts/{script}", *map(shlex.quote, args)])


def markdown(title: str, command: str, sections: Sequence[Section], note: str = "") -> str:
    """The report's text: title, what it is, the command, then each section."""
    lines = [f"# {title}", "", "Generated from the saved results; do not edit by hand. Reprinted by:", "", "```",
             command, "```", ""]
    if note:
        lines += [note, ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        if section.note:
            lines += [section.note, ""]
        lines += ["```", section.table.rstrip("\n"), "```", ""]
    return "\n".join(lines)


def write_report(path: Path, title: str, command: str, sections: Sequence[Section], note: str = "") -> Path:
    """Write :func:`markdown` to ``path`` (its folder made if missing); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(title, command, sections, note))
    return path
