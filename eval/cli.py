"""``inrv eval``: rate-distortion sweeps from the command line.

``add_parser(subparsers)`` registers the ``eval`` sub-command on the ``inrv`` parser and ``run(args)``
executes it; :func:`main` runs it alone (``python -m eval.cli ...``). Example::

    inrv eval --dataset folder --files carphone bikes --methods hnerv,x265-medium,svtav1 \\
        --frames 16 --points 4 --steps 300 --out runs/demo

Progress is a bar over points; finished points are kept in JSON files, so the same command resumes
an interrupted run. At the end the report (``OUT/report.md``) is written and a summary printed.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

from codec.cli import Parser, UsageError, run_reported, size_arg
from codec.cli import jobs_arg
from codec.errors import ConfigError

# The harness (datasets, methods, sweeps, reports: numpy and more) is imported by run(), so that
# ``inrv eval --help`` and its argument errors answer at once.

__all__ = ["add_parser", "run", "main", "merge_args", "DEFAULT_ANCHOR"]

DEFAULT_ANCHOR = "x265-medium"


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``eval`` sub-command to an ``argparse`` sub-parsers object and return its parser."""
    p = subparsers.add_parser(
        "eval",
        help="rate-distortion evaluation against x264/x265/SVT-AV1/VVenC",
        description="Sweep methods over rate points on a dataset; write JSON results, RD plots, BD-rates and a report.",
    )
    p.add_argument("--dataset", choices=("uvg", "folder"), default="folder", help="uvg: the UVG files; folder: any videos")
    p.add_argument("--root", type=Path, help="folder with the dataset's files")
    p.add_argument("--files", nargs="+", default=None, metavar="FILE",
                   help="videos to evaluate (PATH, NAME=PATH, or a sample clip: carphone, bikes); relative to --root")
    p.add_argument("--sequences", default=None, help="comma-separated subset of sequence names (e.g. Beauty,Jockey)")
    p.add_argument("--methods", required=True,
                   help="comma-separated methods: inrv families (nerv, hnerv, ...) and anchors "
                        "(x264-medium, x265-veryslow-ld, svtav1, vvenc, ...); 'list' prints them")
    p.add_argument("--frames", type=int, default=None, help="evaluate the first N frames")
    p.add_argument("--scale", type=float, default=1.0, help="downscale both sides by S (area filter, even sizes)")
    p.add_argument("--points", type=int, default=4, help="rate points per method (default 4)")
    p.add_argument("--values", action="append", default=[], metavar="METHOD=V1,V2,...",
                   help="explicit knob values for one method (CRF/QP for anchors, quality 1..8 or lambda for inrv)")
    p.add_argument("--steps", type=int, default=None, help="training steps for inrv methods")
    p.add_argument("--time-budget", type=float, default=None, help="seconds of training per inrv point")
    p.add_argument("--device", default="auto", help="device for inrv methods (auto, cpu, cuda)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="CPU threads of every encode and decode: inrv's (they decide the file; default every core "
                        "or INRV_THREADS, one with --jobs or --ray; per job with --jobs) and the anchors' encoders "
                        "and decoders (default their own choice); the report records them")
    p.add_argument("--jobs", "-j", type=jobs_arg, default=None, metavar="N",
                   help="run each inrv encode as N jobs (0 or auto: one per core; with --ray, per core of the "
                        "largest node), each with --threads threads (default 1): worker processes training the "
                        "frames a coding structure lets run at once (motion; the other families run as one job); "
                        "the same figures for any N. With --ray a point holds N x threads CPUs of one node")
    p.add_argument("--fps", default=None, help="frame rate of PNG folders / raw files without one in the name")
    p.add_argument("--size", type=size_arg, default=None, metavar="WxH",
                   help="width and height of raw .yuv files whose names do not state them")
    p.add_argument("--anchor", default=None, help=f"BD-rate anchor (default {DEFAULT_ANCHOR} when evaluated)")
    p.add_argument("--out", type=Path, default=None, help="output folder (results, plots, report); required")
    p.add_argument("--overwrite", action="store_true", help="redo points made with other settings instead of refusing")
    p.add_argument("--keep-bitstreams", action="store_true", help="keep encoded files under OUT/work")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run the points as Ray tasks: on a local Ray runtime (or the cluster RAY_ADDRESS names), "
                        "or on the cluster at ADDRESS ('auto': the one this machine belongs to); needs "
                        'pip install "inrv[cluster]"')
    p.set_defaults(func=run)
    return p


def _values(items: list[str]) -> dict[str, tuple[str, ...]]:
    """``["x265-medium=22,27", "hnerv=2,5"]`` -> ``{"x265-medium": ("22", "27"), ...}``."""
    from eval.methods import ALIASES

    out: dict[str, tuple[str, ...]] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--values expects METHOD=V1,V2,..., got {item!r}")
        name, values = item.split("=", 1)
        name = ALIASES.get(name.strip().lower(), name.strip().lower())
        out[name] = tuple(v.strip() for v in values.split(",") if v.strip())
    return out


def _anchor(requested: str | None, methods) -> str | None:
    from eval.methods import ALIASES

    names = [m.name for m in methods]
    if requested is not None:
        key = ALIASES.get(requested.lower(), requested.lower())
        if key not in names:
            raise ConfigError(f"--anchor {requested} is not among --methods ({', '.join(names)})")
        return key
    if DEFAULT_ANCHOR in names:
        return DEFAULT_ANCHOR
    return next((m.name for m in methods if m.kind == "anchor"), None)


@contextmanager
def _usage():
    """A :class:`ConfigError` raised inside is a bad option value: a :class:`UsageError` (exit 2)."""
    try:
        yield
    except UsageError:
        raise
    except ConfigError as exc:
        raise UsageError("inrv eval", str(exc)) from None


def run(args: argparse.Namespace) -> int:
    """Execute ``inrv eval``; a bad option value raises :class:`codec.cli.UsageError`, other user
    mistakes (an input that cannot be read) :class:`codec.errors.InrvError`."""
    from eval.datasets import load_dataset
    from eval.methods import InrvOptions, get_methods, method_names
    from eval.report import build_report, summary_table
    from eval.sweep import SweepConfig, run_sweep

    if args.methods.strip().lower() == "list":
        print("\n".join(method_names()))
        return 0
    with _usage():  # the options' values, checked before anything is read: a bad one exits 2
        if args.out is None:
            raise ConfigError("--out is required (the folder for results, plots and the report)")
        if args.points < 1:
            raise ConfigError(f"--points must be >= 1, got {args.points}")
        fps = None
        if args.fps is not None:
            try:
                fps = Fraction(args.fps)
            except (ValueError, ZeroDivisionError):
                raise ConfigError(f"--fps must be a number or a ratio, got {args.fps!r}") from None
        from codec.device import configure_threads

        threads = args.threads
        if threads is None and (args.jobs is not None or args.ray is not None):
            threads = 1  # per job (EncodeConfig.job_threads), and per Ray task: never more threads than cores
        threads = configure_threads(threads)  # this process's measurement too
        methods = get_methods(args.methods, InrvOptions(steps=args.steps, time_budget=args.time_budget,
                                                        device=args.device, threads=threads, jobs=args.jobs),
                              anchor_threads=args.threads)
        anchor = _anchor(args.anchor, methods)
        values = _values(args.values)
        unknown = sorted(set(values) - {m.name for m in methods})
        if unknown:
            raise ConfigError(f"--values for {', '.join(unknown)}, which is not in --methods")
    names = [n.strip() for n in args.sequences.split(",")] if args.sequences else None
    out = Path(args.out)
    sequences = load_dataset(
        args.dataset, args.root, files=args.files, names=names, frames=args.frames, scale=args.scale,
        cache_dir=out / "sources" / args.dataset, fps=fps, size=args.size,
    )
    config = SweepConfig(out=out, dataset=args.dataset, points=args.points, values=values,
                         overwrite=args.overwrite, keep_bitstreams=args.keep_bitstreams, progress=not args.no_progress)
    executor = None
    if args.ray is not None:
        from eval.cluster import RayExecutor

        executor = RayExecutor(args.ray or None)
    try:
        outcome = run_sweep(sequences, methods, config, executor=executor)
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished points are saved under {out / 'results'}; run the same command to resume",
              file=sys.stderr)
        return 130
    settings = {
        "dataset": args.dataset,
        "sequences": ", ".join(f"{s.name} ({s.width}x{s.height}, {s.num_frames} frames)" for s in sequences),
        "frames": args.frames or "all",
        "scale": args.scale,
        "points per method": args.points,
        "explicit values": "; ".join(f"{k}={','.join(v)}" for k, v in values.items()) or "none",
        "inrv steps": args.steps or "family default",
        "inrv device": args.device,
        "inrv threads": f"{threads} CPU thread{'s' if threads > 1 else ''} per "
                        f"{'job and per decode' if args.jobs is not None else 'encode and decode'} (they decide the file)",
        "inrv jobs": _jobs_setting(args.jobs, args.ray is not None),
        "anchor threads": args.threads or "each encoder's and decoder's own choice (all cores)",
        "BD-rate anchor": anchor or "none",
        "points run / reused": f"{outcome.ran} / {outcome.reused}",
    }
    if args.ray is not None:
        settings["executor"] = f"Ray ({args.ray or 'local runtime'}), {len(outcome.failed)} failed points"
    report = build_report(
        out, args.dataset, [s.name for s in sequences], [m.name for m in methods], anchor=anchor or "",
        settings=settings, kinds={m.name: m.kind for m in methods}, command=getattr(args, "command_line", None) or _command(),
    )
    print(summary_table(report, [m.name for m in methods], anchor or "-"))
    print(f"report: {report.path}")
    if outcome.failed:
        print(f"{len(outcome.failed)} points failed (listed in the report); run the same command to try them again",
              file=sys.stderr)
        return 1
    return 0


def _jobs_setting(jobs: int | None, ray: bool) -> str:
    """The report's line on ``--jobs``."""
    if jobs is None:
        return "one per encode (in its process)"
    count = ("one per core" + (" of the largest node" if ray else "")) if jobs == 0 else str(jobs)
    return f"{count} per encode (worker processes; motion's frames at once, the other families one job)"


def _command() -> str:
    """The command line that is running, for the report."""
    argv = list(sys.argv)
    if not argv:
        return ""
    program = "python -m eval.cli" if argv[0].endswith(("__main__.py", "cli.py")) else Path(argv[0]).name
    return " ".join([program, *(shlex.quote(a) for a in argv[1:])])


def _groups(argv: list[str]) -> list[list[str]]:
    """Split ``--opt v1 v2 --flag`` into option groups ``[["--opt", "v1", "v2"], ["--flag"]]``."""
    groups: list[list[str]] = []
    for token in argv:
        if token.startswith("--") or not groups:
            groups.append([token])
        else:
            groups[-1].append(token)
    return groups


def merge_args(defaults: list[str], argv: list[str]) -> list[str]:
    """``defaults`` with every option that ``argv`` also gives replaced by ``argv``'s (``--values`` adds)."""
    given = {g[0].split("=", 1)[0] for g in _groups(argv)} - {"--values"}
    kept = [g for g in _groups(defaults) if g[0].split("=", 1)[0] not in given]
    return [token for group in kept for token in group] + list(argv)


def main(argv: list[str] | None = None, *, defaults: list[str] | None = None, via: str | None = None) -> int:
    """Run ``eval`` (``inrv eval ...``, or alone: ``python -m eval.cli --methods ... --out ...``).

    ``defaults`` are options that ``argv`` may override (see :func:`merge_args`); ``via`` names a
    wrapper script, and the report then shows the full equivalent ``inrv eval`` command. Errors are
    one line and the exit status inrv documents (:func:`codec.cli.run_reported`): 2 for a usage
    error (an unknown option, a bad value), 1 for an input that cannot be read or a run that failed.
    """
    argv = merge_args(defaults or [], sys.argv[1:] if argv is None else list(argv))

    def work() -> int:
        parser = Parser(prog="inrv")  # one-line usage errors, the closest option named
        add_parser(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(["eval", *argv])
        if via is not None:
            args.command_line = f"# via {via}\ninrv eval " + " ".join(shlex.quote(a) for a in argv)
        return run(args)

    return run_reported(work, name="inrv eval", command="eval")


if __name__ == "__main__":
    sys.exit(main())
