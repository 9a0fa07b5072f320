"""The ``inrv`` command line: encode, decode, info, demo, pretrain, eval.

Every user error prints one line to stderr and exits non-zero; ``--debug`` shows the traceback.
Exit status (:data:`EXIT_USAGE` and friends): 0 done; 1 an input, stream or run error (a file that
cannot be read, a damaged stream, an encode refused by its final check); 2 a usage error (an
unknown or misspelt option or command, a bad value; the line names the closest option); 128 + N
stopped by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP, 141 the reader of a pipe went away, which
ends a command quietly).

``-`` is standard input or output, as x264, x265 and ffmpeg take it: ``inrv encode - -o out.inrv``
reads Y4M from a pipe, ``inrv decode in.inrv -o -`` writes Y4M to one, ``inrv encode in.mp4 -o -``
writes the stream to one, ``inrv decode - ...`` and ``inrv info -`` read the stream from one (into
a temporary file, at most :data:`MAX_PIPED_STREAM` bytes); messages then go to standard error only.

A fast start: the parser is built from the registry's declarations (:func:`codec.registry.declarations`)
and the paths are checked (:mod:`codec.paths`) before the codec, numpy or torch is imported, so that
``--help``, ``--version`` and every argument error answer in a fraction of a second; only the chosen
command's options are built (``inrv --help`` reads no declaration), and other packages' commands
are looked up (``importlib.metadata``) only for ``inrv --help`` or a command that is not built in.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager, nullcontext, redirect_stdout
from contextvars import ContextVar
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from codec import __version__
from codec.stopsignals import Stopped, install as install_stop_signals
from codec.errors import ConfigError, InrvError
from codec.paths import check_input, check_output, check_stream, is_stdio

#: Signals that end a command like Ctrl-C does: outputs in progress are removed, exit 128 + signal.
STOP_SIGNALS = ("SIGTERM", "SIGHUP")

#: Exit statuses besides 0 (and 128 + N for signal N).
EXIT_ERROR, EXIT_USAGE = 1, 2
#: The status of a command whose standard output was closed by its reader (as SIGPIPE would end it).
EXIT_CLOSED_PIPE = 128 + 13
#: The most ``inrv decode -`` and ``inrv info -`` read from standard input (kept in a temporary
#: file while the command runs): 1 GB, a larger stream is passed as a file.
MAX_PIPED_STREAM = 10**9
#: The line for an allocation failure that reached the command line (codec.decode and codec.open
#: name the stream themselves: codec.errors.DecodeOutOfMemory), by command.
OUT_OF_MEMORY = {
    "encode": "out of memory: try a smaller network (--preset, --params), fewer frames (--frames) or a "
              "group-wise family (--model nirvana)",
    "decode": "out of memory while decoding: decode fewer frames at once (--frames START:COUNT), or refuse such "
              "streams before decoding (--max-pixels N, --max-memory SIZE)",
}
OUT_OF_MEMORY["info"] = OUT_OF_MEMORY["decode"]


def _frames(text: str) -> tuple[int, int | None]:
    """``START:COUNT``, ``START:`` or ``COUNT``."""
    try:
        if ":" in text:
            a, b = text.split(":", 1)
            return int(a or 0), (int(b) if b else None)
        return 0, int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:COUNT, got {text!r}") from None


def jobs_arg(text: str) -> int:
    """``--jobs N`` or ``auto`` (0: one job per core)."""
    if text == "auto":
        return 0
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of jobs or auto, got {text!r}") from None


def _size(text: str) -> int | str:
    """``--max-memory``: ``auto``, ``0``, bytes or ``2G``, ``512M`` (:func:`codec.memory.parse_size`)."""
    from codec.memory import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_max_memory_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-memory", type=_size, default="auto", metavar="SIZE",
                   help="refuse streams whose decoding needs more memory, by their family's figure, before "
                        "anything is allocated: 2G, 512M, bytes, 0 for no limit (default auto: half of this "
                        "machine's memory)")


def size_arg(text: str) -> tuple[int, int]:
    """``--size WxH``: a raw file's width and height."""
    w, sep, h = text.lower().partition("x")
    if not (sep and w.isdigit() and h.isdigit() and int(w) > 0 and int(h) > 0):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1920x1080, got {text!r}")
    return int(w), int(h)


def rate_arg(text: str) -> Fraction:
    """``--fps N``, ``N/D`` or a decimal: a positive frame rate."""
    try:
        fps = Fraction(text)
    except (ValueError, ZeroDivisionError):
        fps = None
    if fps is None or fps <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive rate such as 25, 30000/1001 or 29.97, got {text!r}")
    return fps


class UsageError(InrvError):
    """A command line the parser refused (exit :data:`EXIT_USAGE`): ``prog`` is the command it
    belongs to (``inrv encode``), the message one line."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: every error is a :class:`UsageError` (printed by :func:`main`
    as ``inrv encode: error: ...``, exit 2) instead of a usage block, and :meth:`parse_args`
    answers an unknown option with the chosen command's closest one. ``inrv pretrain`` and the
    sub-commands of other packages (``inrv eval``) parse with it too."""

    def error(self, message: str):  # argparse's hook: it must not return
        raise UsageError(self.prog, message)

    def parse_args(self, args=None, namespace=None) -> argparse.Namespace:  # type: ignore[override]
        """argparse's, where an argument that no parser took is a :class:`UsageError` naming the
        closest option of the chosen sub-command (``--stpes``: did you mean ``--steps``?)."""
        args, extras = self.parse_known_args(args, namespace)
        if extras:
            command = self._chosen(args)
            raise UsageError(command.prog, unknown_argument(extras[0], command))
        return args

    def _chosen(self, args: argparse.Namespace) -> argparse.ArgumentParser:
        """The sub-command's parser that ``args`` went through (this parser if none)."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction) and getattr(args, action.dest, None) in action.choices:
                return action.choices[getattr(args, action.dest)]
        return self


def closest(word: str, choices) -> str | None:
    """The choice nearest ``word`` (difflib's ratio at least 0.6), or None."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_argument(token: str, parser: argparse.ArgumentParser) -> str:
    """The message for an argument ``parser`` does not take: an option names the closest one."""
    if not token.startswith("-"):
        return f"unexpected argument {token!r} ({parser.prog} --help says what it takes)"
    flag = token.split("=", 1)[0]
    near = closest(flag, [o for a in parser._actions for o in a.option_strings if o.startswith("--")])
    return f"unknown option {flag}: " + (f"did you mean {near}?" if near else f"{parser.prog} --help lists its options")


def _add_threads_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, help="CPU threads (default: every core, or INRV_THREADS); "
                                              "the same count gives the same file")


def _add_weights_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", metavar="FILE", help="pretrained weights the stream needs (teconerv), "
                                                   "when they are not installed")


def _add_encode_options(p: argparse.ArgumentParser) -> None:
    """The common encode flags, then every registered family's own options (one flag per option
    name; an option some families lack says which families read it)."""
    from codec.registry import declarations

    registered = declarations()
    streaming = [f.name for f in registered if f.streams]
    whole = [f.name for f in registered if not f.streams]
    p.add_argument("input", help="video file (mp4, mkv, y4m, raw .yuv with --size, PNG folder, ...), or - for Y4M "
                                 f"on standard input: {', '.join(streaming)} read it group by group (with --frames "
                                 f"START:COUNT as it arrives), {', '.join(whole)} hold the whole clip in memory")
    p.add_argument("-o", "--output", required=True,
                   help="output .inrv file, or - for standard output (the summary then goes to standard error)")
    p.add_argument("--size", type=size_arg, metavar="WxH",
                   help="width and height of a raw .yuv input whose name does not state them")
    p.add_argument("--fps", type=rate_arg, metavar="N[/D]",
                   help="frame rate of the input (raw .yuv and PNG folders have none: default 25; overrides "
                        "a container's)")
    p.add_argument("--model", default="hnerv", choices=[f.name for f in registered], help="model family: "
                   + "; ".join(f"{f.name}: {f.summary}" for f in registered))
    groups = {"rate": p.add_mutually_exclusive_group()}
    groups["rate"].add_argument("--quality", "-q", type=int, help="1 (smallest) .. 8 (best); default 4")
    p.add_argument("--frames", type=_frames, default=(0, None), metavar="START:COUNT")
    p.add_argument("--device", default="auto", help="auto (cuda if present), cpu, cuda, cuda:N")
    p.add_argument("--seed", type=int, default=0)
    _add_threads_option(p)
    p.add_argument("--jobs", "-j", type=jobs_arg, metavar="N",
                   help="train the frames a coding structure lets run at once in N processes (0 or auto: one "
                        "per core), each with --threads threads (default 1); the same --threads gives the same "
                        "file for any N (motion; the other families run as one job)")
    p.add_argument("--ray", nargs="?", const="", default=None, metavar="ADDRESS",
                   help="run those frames as Ray tasks on the cluster at ADDRESS (default: a local runtime, or "
                        "RAY_ADDRESS), --jobs at a time (default: as many as its CPUs hold); the same file as "
                        "--jobs (pip install \"inrv[cluster]\")")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    for name, (spec, users) in _family_options(registered).items():
        if spec.group and spec.group not in groups:
            groups[spec.group] = p.add_mutually_exclusive_group()
        target = groups[spec.group] if spec.group else p
        who = "" if len(users) == len(registered) else ", ".join(users) + ": "
        if spec.kind is bool:  # a switch: on when given, the family's default (off) otherwise
            target.add_argument(spec.flag, dest=f"option_{name}", action="store_true", default=None,
                                help=who + spec.help)
        else:
            target.add_argument(spec.flag, dest=f"option_{name}", type=spec.kind,
                                metavar=spec.metavar or spec.name.upper(), help=who + spec.help)


def _family_options(registered) -> dict:
    """option name -> (its declaration, the families declaring it), in first-declared order, from
    the registry's declarations (no family module is imported). One name must mean one flag and one
    type in every family that declares it."""
    merged: dict = {}
    for family in registered:
        for spec in family.options_cls.specs():
            first, users = merged.setdefault(spec.name, (spec, []))
            if (first.flag, first.kind, first.group) != (spec.flag, spec.kind, spec.group):
                raise RuntimeError(f"option {spec.name!r}: {family.name} declares it unlike {users[0]}")
            users.append(family.name)
    return merged


def _encode_config(args: argparse.Namespace):
    from codec.config import EncodeConfig

    start, count = args.frames
    options = {k.removeprefix("option_"): v for k, v in vars(args).items()
               if k.startswith("option_") and v is not None}
    return EncodeConfig(model=args.model, quality=args.quality, start=start, count=count, device=args.device,
                        seed=args.seed, threads=args.threads, progress=not args.quiet, options=options,
                        jobs=args.jobs, ray=args.ray)


def _print_result(r) -> None:
    print(f"wrote {r.path}: {r.file_bytes} bytes, {r.num_frames} frames {r.width}x{r.height}")
    print(f"  bpp {r.bpp:.4f} (file size; training estimate {r.estimated_bpp:.4f})")
    print(f"  PSNR-RGB {r.psnr_rgb:.2f} dB, PSNR-YUV {r.psnr_yuv:.2f} dB (decoded from the file)")
    jobs = f" x {r.jobs} jobs" if r.jobs > 1 else ""
    print(f"  encode {r.encode_seconds:.1f} s ({r.steps} steps, {r.threads} CPU "
          f"thread{'s' if r.threads > 1 else ''}{jobs}), render {r.decode_seconds:.2f} s ({r.render_fps:.1f} fps)")
    if r.rate_control is not None:
        print("  " + r.rate_control.text())
    if r.note:
        print(f"  note: {r.note}")


def _encode_input(args: argparse.Namespace):
    """What ``inrv encode`` reads, as a context: Y4M on standard input (a :class:`codec.video.Y4mPipe`,
    taken to hold START + COUNT frames when ``--frames`` gives a count), the file with ``--size`` /
    ``--fps`` (a :class:`codec.video.VideoFile`), or the path."""
    from codec.video import VideoFile, Y4mPipe

    width, height = args.size or (None, None)
    if is_stdio(args.input):
        start, count = args.frames
        return Y4mPipe(limit=None if count is None else start + count, width=width, height=height, fps=args.fps)
    if args.size or args.fps:
        return nullcontext(VideoFile(Path(args.input), width, height, args.fps))
    return nullcontext(Path(args.input))


def _to_stdout(path: Path) -> None:
    """Copy a finished file to standard output."""
    import shutil

    with open(path, "rb") as f:
        shutil.copyfileobj(f, sys.stdout.buffer, 1 << 20)
    sys.stdout.buffer.flush()


@contextmanager
def _scratch_folder() -> Iterator[Path]:
    """A temporary folder, removed at the end, and by the stop watchdog if a stop must end the
    process (:mod:`codec.stopsignals`)."""
    import tempfile

    from codec import stopsignals

    with tempfile.TemporaryDirectory(prefix="inrv-") as tmp, stopsignals.temporary(Path(tmp)):
        yield Path(tmp)


@contextmanager
def _stream_file(path: str) -> Iterator[str]:
    """The ``.inrv`` file a command reads: ``path``, or for ``-`` what standard input holds, copied
    into a temporary file (at most :data:`MAX_PIPED_STREAM` bytes) and removed at the end."""
    if not is_stdio(path):
        yield path
        return
    if sys.stdin.isatty():
        raise ConfigError("standard input is a terminal: pipe a .inrv stream into it (- < in.inrv) or pass the file")
    from codec.memory import format_bytes

    with _scratch_folder() as folder:
        stream, size = folder / "stdin.inrv", 0
        with open(stream, "wb") as f:
            while chunk := sys.stdin.buffer.read(1 << 20):
                size += len(chunk)
                if size > MAX_PIPED_STREAM:
                    raise ConfigError(f"standard input holds more than {format_bytes(MAX_PIPED_STREAM)}: pass "
                                      "the stream as a file")
                f.write(chunk)
        if size == 0:
            raise ConfigError("standard input is empty: pipe a .inrv stream into it")
        yield str(stream)


def cmd_encode(args: argparse.Namespace) -> int:
    check_input(args.input)  # before anything is imported: one line in a fraction of a second
    check_output(args.output, args.input)
    config = _encode_config(args)  # the options checked against the family's declaration, no torch yet
    import dataclasses

    import codec

    piped = is_stdio(args.output)  # the stream is written to a temporary file, measured, then copied out
    with _encode_input(args) as src, (_scratch_folder() if piped else nullcontext()) as tmp:
        result = codec.encode(src, Path(tmp, "stream.inrv") if piped else Path(args.output), config)
        if piped:
            _to_stdout(result.path)
            result = dataclasses.replace(result, path=Path("standard output"))
    with redirect_stdout(sys.stderr) if piped else nullcontext():
        _print_result(result)
    return 0


def _raw_output_note(path: Path, info) -> str | None:
    """For a raw ``.yuv`` output: what to pass to read it back when its name does not state the
    stream's geometry and rate; a :class:`ConfigError` when the name states other ones (inrv would
    read the file back wrong). None for any other output."""
    from codec.errors import ConfigError
    from codec.video import parse_raw_name, raw_name_agrees

    if is_stdio(path) or path.suffix.lower() != ".yuv":
        return None
    named = parse_raw_name(path)
    if named.width is not None and (named.width, named.height) != (info.width, info.height):
        raise ConfigError(f"{path}: the name says {named.width}x{named.height} (inrv would read it back so), the "
                          f"stream is {info.width}x{info.height}: give a name with {info.width}x{info.height} or no size")
    if raw_name_agrees(path, info.width, info.height, info.fps):
        return None
    fps = info.fps.numerator if info.fps.denominator == 1 else info.fps
    return (f"  raw I420 without a header: read it back with --size {info.width}x{info.height} --fps {fps}"
            + (f", or name it like {path.stem}_{info.width}x{info.height}_{fps}fps.yuv"
               if info.fps.denominator == 1 else ""))


def cmd_decode(args: argparse.Namespace) -> int:
    if not is_stdio(args.input):
        check_stream(args.input)  # before anything is imported
    check_output(args.output, args.input, folder_ok=True)
    with _stream_file(args.input) as stream:  # standard input: read into a temporary file
        args.input = stream
        return _compare(args) if args.compare else _decode(args)


def _decode(args: argparse.Namespace) -> int:
    import codec

    output = Path(args.output)
    with codec.open(args.input, device="cpu", weights=args.weights) as coded:  # the header only
        note = _raw_output_note(output, coded.info)
    start, count = args.frames
    r = codec.decode(args.input, args.output, start=start, count=count, device=args.device,
                     threads=args.threads, max_pixels=args.max_pixels, weights=args.weights,
                     max_memory=args.max_memory)
    where = "standard output" if is_stdio(output) else r.path
    print(f"wrote {where}: frames {r.first_frame}..{r.first_frame + r.num_frames - 1} "
          f"in {r.seconds:.2f} s (decode {r.fps:.1f} fps, render {r.render_fps:.1f} fps)", file=sys.stderr if is_stdio(output) else sys.stdout)
    if note:
        print(note)
    return 0


def _compare(args: argparse.Namespace) -> int:
    """``inrv decode S -o OUT --compare SOURCE``: source | decoded | error map (:mod:`codec.compare`)."""
    check_input(args.compare)
    from codec.compare import ERROR_GAIN, compare

    start, count = args.frames
    r = compare(args.input, args.compare, args.output, start=start, count=count, device=args.device,
                threads=args.threads, weights=args.weights, max_pixels=args.max_pixels)
    print(f"wrote {'standard output' if is_stdio(args.output) else r.path}: frames {r.first_frame}.."
          f"{r.first_frame + r.num_frames - 1}, source | decoded | error x{ERROR_GAIN}; PSNR-RGB {r.psnr_rgb:.2f} dB",
          file=sys.stderr if is_stdio(args.output) else sys.stdout)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    if not is_stdio(args.input):
        check_stream(args.input)  # before anything is imported
    with _stream_file(args.input) as stream:  # standard input: read into a temporary file
        from codec.streaminfo import describe_stream, verify_stream
        from codec.weights import use

        if args.weights:
            use(args.weights)
        print(describe_stream(stream, values=args.verify, max_memory=args.max_memory,
                              name="standard input" if is_stdio(args.input) else None))
        if args.verify:
            print(verify_stream(stream, max_memory=args.max_memory))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from codec.demo import DEMO_CLIP, DEMO_FRAMES, decode_demo, encode_demo

    print(f"encoding the first {DEMO_FRAMES} frames of {DEMO_CLIP} (176x144) with {args.model} ...")
    result = encode_demo(Path(args.out), model=args.model, steps=args.steps, device=args.device, threads=args.threads)
    _print_result(result)
    decoded = decode_demo(result.path, device=args.device, threads=args.threads)
    print(f"decoded video: {decoded.viewing.path} (for viewing, x264) and {decoded.lossless.path} (lossless FFV1); "
          f"decode {decoded.lossless.fps:.1f} fps to FFV1, render {decoded.lossless.render_fps:.1f} fps")
    return 0


def _add_decode_options(p: argparse.ArgumentParser) -> None:
    from codec.config import MAX_DECODE_PIXELS  # with the registry's declarations: not for inrv --help

    p.add_argument("input", help=".inrv file, or - for one on standard input")
    p.add_argument("-o", "--output", required=True, help="OUT.y4m, OUT.mkv (FFV1), OUT.mp4, OUT.yuv, OUT_DIR/ (PNGs) "
                                                        "or - (Y4M on standard output; messages on standard error)")
    p.add_argument("--frames", type=_frames, default=(0, None), metavar="START:COUNT")
    p.add_argument("--compare", metavar="SOURCE", help="write SOURCE | decoded | error map (x4) side by side "
                   "instead of the decoded frames: frame i of the stream beside frame i of SOURCE")
    p.add_argument("--device", default="auto")
    p.add_argument("--max-pixels", type=int, default=MAX_DECODE_PIXELS, metavar="N",
                   help=f"refuse streams that decode to more pixels (default 2^34 = {MAX_DECODE_PIXELS:,}, "
                        "about 8,300 frames of 1080p; 0: no limit)")
    _add_max_memory_option(p)
    _add_threads_option(p)
    _add_weights_option(p)


def _add_info_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", help=".inrv file, or - for one on standard input")
    p.add_argument("--verify", action="store_true",
                   help="also check every chunk's CRC and decode every frame (exit 1 on damage)")
    _add_max_memory_option(p)
    _add_weights_option(p)


def _add_demo_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="inrv-demo", help="output folder (default: ./inrv-demo)")
    p.add_argument("--model", default="hnerv")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--device", default="auto")
    _add_threads_option(p)


#: The built-in commands: name -> (the line ``inrv --help`` shows, what adds its arguments, what runs
#: it); ``inrv pretrain`` parses its own (:mod:`codec.families.teconerv.pretrain.cli`).
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None] | None,
                          Callable[[argparse.Namespace], int] | None]] = {
    "encode": ("encode a video into a .inrv file", _add_encode_options, cmd_encode),
    "decode": ("decode a .inrv file to video", _add_decode_options, cmd_decode),
    "info": ("show a .inrv file's header, chunks and bytes", _add_info_options, cmd_info),
    "demo": ("encode and decode the built-in sample clip (carphone)", _add_demo_options, cmd_demo),
    "pretrain": ("train the teconerv hypernetwork on videos (inrv pretrain --help)", None, None),
}
BUILTIN_COMMANDS = tuple(COMMANDS)


def build_parser(plugins: bool = True, full: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The ``inrv`` parser. ``full``: the commands whose arguments it holds (default: every one);
    the others only name themselves, which is all ``inrv --help`` shows (encode's options read
    every family's declaration). ``plugins``: list the sub-commands of other packages (for ``inrv
    --help``; finding them scans the installed packages, which only the listing needs)."""
    parser = Parser(prog="inrv", description="Neural implicit video codec. Exit status: 0 done, 1 an input, "
                    "stream or run error, 2 a usage error, 128+N stopped by signal N.")
    parser.add_argument("--version", action="version", version=f"inrv {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (line, add_options, run) in COMMANDS.items():
        if add_options is None or (full is not None and name not in full):
            sub.add_parser(name, help=line, add_help=False)
            continue
        p = sub.add_parser(name, help=line)
        add_options(p)
        p.set_defaults(func=run)
    for name, entry in (_plugins() if plugins else {}).items():
        p = sub.add_parser(name, help=entry.help, add_help=False)
        p.set_defaults(func=None)
    return parser


@dataclass(frozen=True)
class Plugin:
    """A sub-command another package adds to ``inrv`` (the ``inrv.commands`` entry-point group):
    ``main(argv) -> exit status`` gets the arguments after the command's name. A sub-command that
    parses with :class:`Parser` gets the same one-line usage errors (its :class:`UsageError`
    reaches :func:`main`)."""

    load: Callable[[], Callable[[list[str]], int]]
    help: str


def _plugins() -> dict[str, Plugin]:
    """Sub-commands from installed packages (this distribution's ``eval``: the evaluation harness),
    found without importing them: the codec does not depend on what builds on it."""
    from importlib.metadata import entry_points

    return {ep.name: Plugin(ep.load, f"a command of the {ep.module.partition('.')[0]} package: "
                                     f"inrv {ep.name} --help says more")
            for ep in entry_points(group="inrv.commands")}


def _say(message: str) -> None:
    """One line on stderr, on a line of its own even where a progress bar was drawn (a bar exists
    only where tqdm was imported: a message before that does not import it)."""
    tqdm = sys.modules.get("tqdm")
    if tqdm is not None:
        tqdm.tqdm.write(message, file=sys.stderr)
    else:
        print(message, file=sys.stderr)


def _unknown_command(name: str, commands) -> UsageError:
    """The error for a command ``inrv`` does not have, naming the closest one."""
    near = closest(name, commands)
    return UsageError("inrv", f"unknown command {name!r}: " + (f"did you mean {near!r}?" if near else
                                                              "inrv --help lists the commands"))


def _quiet_stdout() -> None:
    """Standard output's reader went away: point it at /dev/null, so that nothing (not even the
    interpreter's last flush) complains about the closed pipe."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout (tests): nothing to flush into it
        pass


#: True while :func:`run_reported` reports for a command: a call inside it (a plugin's ``main``
#: run by ``inrv``) lets what it raises through, to be reported once with ``inrv``'s ``--debug``.
_REPORTING: ContextVar[bool] = ContextVar("inrv_reporting", default=False)


def run_reported(work: Callable[[], int], *, name: str = "inrv", command: str = "", debug: bool = False) -> int:
    """``work()``'s exit status, where what it raises is one line on stderr and the documented
    status: :class:`UsageError` ``2``, an input, stream or run error ``1`` (``name: error: ...``),
    a stop signal ``128 + N``, a closed standard output ``141`` (quietly). ``command`` picks the
    out-of-memory advice; ``debug`` raises instead (the traceback). :func:`main` runs every command
    through it, and a sub-command's own ``main`` run alone (``python -m eval.cli``) too: inside
    another call, it leaves the reporting to that one."""
    if _REPORTING.get():
        return work()
    token = _REPORTING.set(True)
    try:
        status = work()
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last flush
        return status
    except UsageError as exc:
        _say(f"{exc.prog}: error: {exc}")
        return EXIT_USAGE
    except BrokenPipeError:  # the reader of standard output went away (inrv info S | head): quietly
        _quiet_stdout()
        return EXIT_CLOSED_PIPE
    except Stopped as exc:
        import signal

        _say(f"{name}: stopped by {signal.Signals(exc.signum).name}")
        return 128 + exc.signum
    except KeyboardInterrupt:
        _say(f"{name}: interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - one line for users, traceback with --debug
        if debug:
            raise
        from codec.memory import is_out_of_memory

        if is_out_of_memory(exc):
            _say(f"{name}: error: {OUT_OF_MEMORY.get(command, OUT_OF_MEMORY['encode'])}")
            return EXIT_ERROR
        bitstream = sys.modules.get("bitstream")  # a stream error can only come once it is imported
        damaged = bitstream is not None and isinstance(exc, bitstream.BitstreamError)
        kind = "invalid stream" if damaged else "error"
        if not (damaged or isinstance(exc, (InrvError, OSError))):
            kind = f"internal error ({type(exc).__name__})"
        _say(f"{name}: {kind}: {exc}")
        return EXIT_ERROR
    finally:
        _REPORTING.reset(token)


def _run(argv: list[str], debug: bool) -> int:
    """Parse ``argv`` and run its command (or hand it to ``inrv pretrain`` or a plugin)."""
    command = argv[int(debug):int(debug) + 1]
    named = bool(command) and not command[0].startswith("-") and command[0] not in BUILTIN_COMMANDS
    plugins = _plugins() if named else {}
    if command and command[0] in plugins:
        return plugins[command[0]].load()(argv[int(debug) + 1:])
    if command == ["pretrain"]:
        from codec.families.teconerv.pretrain.cli import main as pretrain_main

        return pretrain_main(argv[int(debug) + 1:], parser_class=Parser)
    if named:
        raise _unknown_command(command[0], [*BUILTIN_COMMANDS, *plugins])
    chosen = next((a for a in argv if not a.startswith("-")), None)  # the command argparse will choose
    parser = build_parser(plugins=not command or command[0] in ("-h", "--help"), full=[chosen] if chosen else [])
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    return args.func(args)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = bool(argv) and argv[0] == "--debug"
    command = next(iter(argv[int(debug):int(debug) + 1]), "")
    builtin = command in BUILTIN_COMMANDS or command.startswith("-") or not command
    restore_signals = install_stop_signals(STOP_SIGNALS)  # codec.stopsignals: never lost
    try:
        return run_reported(lambda: _run(argv, debug), name="inrv" if builtin else f"inrv {command}",
                            command=command, debug=debug)
    finally:
        restore_signals()


if __name__ == "__main__":
    sys.exit(main())
