"""The ``inrv`` command line: encode, decode, info, demo, pretrain, eval.

Every user error prints one line to stderr and exits non-zero; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from codec import __version__
from codec.config import MAX_DECODE_PIXELS
from codec.stopsignals import Stopped, install as install_stop_signals

#: Signals that end a command like Ctrl-C does: outputs in progress are removed, exit 128 + signal.
STOP_SIGNALS = ("SIGTERM", "SIGHUP")

BUILTIN_COMMANDS = ("encode", "decode", "info", "demo", "pretrain")
#: The line for an allocation failure that reached the command line (codec.decode and codec.open
#: name the stream themselves: codec.errors.DecodeOutOfMemory), by command.
OUT_OF_MEMORY = {
    "encode": "out of memory: try a smaller network (--preset, --params), fewer frames (--frames) or a "
              "group-wise family (--model nirvana)",
    "decode": "out of memory while decoding: decode fewer frames at once (--frames START:COUNT), or refuse such "
              "streams before decoding (--max-pixels N, --max-memory SIZE)",
}
OUT_OF_MEMORY["info"] = OUT_OF_MEMORY["decode"]
DEMO_FRAMES = 32
DEMO_STEPS = 800  # about a minute of HNeRV training on 2 CPU cores


def _frames(text: str) -> tuple[int, int | None]:
    """``START:COUNT``, ``START:`` or ``COUNT``."""
    try:
        if ":" in text:
            a, b = text.split(":", 1)
            return int(a or 0), (int(b) if b else None)
        return 0, int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:COUNT, got {text!r}") from None


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


def _add_threads_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, help="CPU threads (default: every core, or INRV_THREADS); "
                                              "the same count gives the same file")


def _add_weights_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--weights", metavar="FILE", help="pretrained weights the stream needs (teconerv), "
                                                   "when they are not installed")


def _add_encode_options(p: argparse.ArgumentParser) -> None:
    """The common encode flags, then every registered family's own options (one flag per option
    name; an option some families lack says which families read it)."""
    from codec.registry import families

    registered = families()
    p.add_argument("--model", default="hnerv", choices=[f.name for f in registered], help="model family: "
                   + "; ".join(f"{f.name}: {f.summary}" for f in registered))
    groups = {"rate": p.add_mutually_exclusive_group()}
    groups["rate"].add_argument("--quality", "-q", type=int, help="1 (smallest) .. 8 (best); default 4")
    p.add_argument("--frames", type=_frames, default=(0, None), metavar="START:COUNT")
    p.add_argument("--device", default="auto", help="auto (cuda if present), cpu, cuda, cuda:N")
    p.add_argument("--seed", type=int, default=0)
    _add_threads_option(p)
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
    """option name -> (its declaration, the families declaring it), in first-declared order. One
    name must mean one flag and one type in every family that declares it."""
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
                        seed=args.seed, threads=args.threads, progress=not args.quiet, options=options)


def _print_result(r) -> None:
    print(f"wrote {r.path}: {r.file_bytes} bytes, {r.num_frames} frames {r.width}x{r.height}")
    print(f"  bpp {r.bpp:.4f} (file size; training estimate {r.estimated_bpp:.4f})")
    print(f"  PSNR-RGB {r.psnr_rgb:.2f} dB, PSNR-YUV {r.psnr_yuv:.2f} dB (decoded from the file)")
    print(f"  encode {r.encode_seconds:.1f} s ({r.steps} steps, {r.threads} CPU "
          f"thread{'s' if r.threads > 1 else ''}), decode {r.decode_seconds:.2f} s "
          f"({r.num_frames / max(r.decode_seconds, 1e-9):.1f} fps)")
    if r.rate_control is not None:
        print("  " + r.rate_control.text())


def cmd_encode(args: argparse.Namespace) -> int:
    import codec

    _print_result(codec.encode(args.input, args.output, _encode_config(args)))
    return 0


def cmd_decode(args: argparse.Namespace) -> int:
    import codec

    start, count = args.frames
    r = codec.decode(args.input, args.output, start=start, count=count, device=args.device,
                     threads=args.threads, max_pixels=args.max_pixels, weights=args.weights,
                     max_memory=args.max_memory)
    print(f"wrote {r.path}: frames {r.first_frame}..{r.first_frame + r.num_frames - 1} "
          f"in {r.seconds:.2f} s ({r.fps:.1f} fps)")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from codec.streaminfo import describe_stream, verify_stream
    from codec.weights import use

    if args.weights:
        use(args.weights)
    print(describe_stream(args.input, values=args.verify, max_memory=args.max_memory))
    if args.verify:
        print(verify_stream(args.input, max_memory=args.max_memory))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import codec
    from codec.config import EncodeConfig
    from codec.registry import families_declaring
    from codec.video import sample_clip

    src = sample_clip("carphone")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stream = out / "carphone.inrv"
    print(f"encoding the first {DEMO_FRAMES} frames of {src.name} (176x144) with {args.model} ...")
    trains = args.model in families_declaring("steps")  # a family without steps hears of --steps
    config = EncodeConfig(model=args.model, count=DEMO_FRAMES, device=args.device, threads=args.threads,
                          options={"steps": (args.steps or DEMO_STEPS) if trains else args.steps})
    _print_result(codec.encode(src, stream, config))
    decoded = out / "carphone_decoded.mp4"
    lossless = out / "carphone_decoded.mkv"
    codec.decode(stream, lossless, device=args.device, threads=args.threads)
    r = codec.decode(stream, decoded, device=args.device, threads=args.threads)
    print(f"decoded video: {decoded} (for viewing, x264) and {lossless} (lossless FFV1); "
          f"decode {r.fps:.1f} fps")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inrv", description="Neural implicit video codec.")
    parser.add_argument("--version", action="version", version=f"inrv {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("encode", help="encode a video into a .inrv file")
    p.add_argument("input", help="video file (mp4, mkv, y4m, raw .yuv, PNG folder, ...)")
    p.add_argument("-o", "--output", required=True, help="output .inrv file")
    _add_encode_options(p)
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("decode", help="decode a .inrv file to video")
    p.add_argument("input", help=".inrv file")
    p.add_argument("-o", "--output", required=True, help="OUT.y4m, OUT.mkv (FFV1), OUT.mp4, OUT.yuv or OUT_DIR/")
    p.add_argument("--frames", type=_frames, default=(0, None), metavar="START:COUNT")
    p.add_argument("--device", default="auto")
    p.add_argument("--max-pixels", type=int, default=MAX_DECODE_PIXELS, metavar="N",
                   help=f"refuse streams that decode to more pixels (default 2^34 = {MAX_DECODE_PIXELS:,}, "
                        "about 8,300 frames of 1080p; 0: no limit)")
    _add_max_memory_option(p)
    _add_threads_option(p)
    _add_weights_option(p)
    p.set_defaults(func=cmd_decode)

    p = sub.add_parser("info", help="show a .inrv file's header, chunks and bytes")
    p.add_argument("input")
    p.add_argument("--verify", action="store_true",
                   help="also check every chunk's CRC and decode every frame (exit 1 on damage)")
    _add_max_memory_option(p)
    _add_weights_option(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("demo", help="encode and decode the built-in sample clip (carphone)")
    p.add_argument("--out", default="inrv-demo", help="output folder (default: ./inrv-demo)")
    p.add_argument("--model", default="hnerv")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--device", default="auto")
    _add_threads_option(p)
    p.set_defaults(func=cmd_demo)

    sub.add_parser("pretrain", help="train the teconerv hypernetwork on videos (inrv pretrain --help)",
                   add_help=False)
    for name, entry in _plugins().items():
        p = sub.add_parser(name, help=entry.help, add_help=False)
        p.set_defaults(func=None)
    return parser


@dataclass(frozen=True)
class Plugin:
    """A sub-command another package adds to ``inrv`` (the ``inrv.commands`` entry-point group):
    ``main(argv) -> exit status`` gets the arguments after the command's name."""

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
    """One line on stderr, on a line of its own even where a progress bar was drawn."""
    try:
        from tqdm.auto import tqdm

        tqdm.write(message, file=sys.stderr)
    except ImportError:  # pragma: no cover - tqdm is a dependency
        print(message, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    import signal

    argv = sys.argv[1:] if argv is None else list(argv)
    debug = bool(argv) and argv[0] == "--debug"
    restore_signals = install_stop_signals(STOP_SIGNALS)  # codec.stopsignals: never lost
    command = argv[int(debug):int(debug) + 1]
    try:
        plugins = _plugins() if command and command[0] not in BUILTIN_COMMANDS else {}
        if command and command[0] in plugins:
            return plugins[command[0]].load()(argv[int(debug) + 1:])
        if command == ["pretrain"]:
            from codec.families.teconerv.pretrain.cli import main as pretrain_main

            return pretrain_main(argv[int(debug) + 1:])
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return args.func(args)
    except Stopped as exc:
        _say(f"inrv: stopped by {signal.Signals(exc.signum).name}")
        return 128 + exc.signum
    except KeyboardInterrupt:
        _say("inrv: interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - one line for users, traceback with --debug
        if debug:
            raise
        from bitstream import BitstreamError
        from codec.errors import InrvError
        from codec.memory import is_out_of_memory

        if is_out_of_memory(exc):
            _say(f"inrv: error: {OUT_OF_MEMORY.get(command[0] if command else '', OUT_OF_MEMORY['encode'])}")
            return 1

        kind = "invalid stream" if isinstance(exc, BitstreamError) else "error"
        if not isinstance(exc, (InrvError, BitstreamError, OSError)):
            kind = f"internal error ({type(exc).__name__})"
        _say(f"inrv: {kind}: {exc}")
        return 1
    finally:
        restore_signals()


if __name__ == "__main__":
    sys.exit(main())
