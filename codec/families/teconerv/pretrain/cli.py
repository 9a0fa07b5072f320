"""``inrv pretrain``: train the teconerv hypernetwork on a folder of videos or a corpus manifest.

On several processes: ``torchrun --nproc-per-node N -m codec.cli pretrain DATA --out DIR`` (gloo on
CPUs, nccl on GPUs); the arguments are the same. They are parsed and checked (their defaults and
limits: :class:`PretrainSettings`, the data's path) before torch is imported.
"""

from __future__ import annotations

import argparse

from codec.families.teconerv.pretrain.settings import PretrainSettings, check_data


def build_parser(parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The parser of ``inrv pretrain``; ``parser_class``: the command line's (``inrv`` passes its
    one-line-error parser, :class:`codec.cli.Parser`)."""
    d = PretrainSettings()
    p = parser_class(prog="inrv pretrain", description=__doc__.split("\n")[0])
    p.add_argument("data", nargs="?", default=d.data,
                   help="folder of videos, or a corpus manifest .json (default: the shipped corpus)")
    p.add_argument("--out", default=d.out, help=f"run folder: checkpoint, log, weights (default {d.out}); "
                                                "an existing checkpoint there is resumed")
    p.add_argument("--steps", type=int, default=d.steps, help=f"stage 1 steps (default {d.steps})")
    p.add_argument("--coherence-steps", type=int, default=d.coherence_steps,
                   help=f"stage 2 steps with the temporal-coherence penalty (default {d.coherence_steps})")
    p.add_argument("--coherence", type=float, default=d.coherence, help=f"its weight (default {d.coherence})")
    p.add_argument("--batch", type=int, default=d.batch, help=f"tubelets per step and process (default {d.batch})")
    p.add_argument("--lr", type=float, default=d.lr, help=f"Adam learning rate (default {d.lr})")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every, metavar="STEPS")
    p.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                   help="stop (checkpointed) after this long; run again to resume")
    p.add_argument("--workers", type=int, default=d.workers, metavar="N",
                   help="processes drawing tubelets ahead of the training step (for GPUs; default 0: "
                        "drawn in the training process; the samples are the same)")
    p.add_argument("--device", default=d.device)
    p.add_argument("--threads", type=int, default=None, help="CPU threads per process")
    p.add_argument("--cache", default=None, help="where decoded training frames are kept "
                                                 "(default ~/.cache/inrv/pretrain)")
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv: list[str], parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser) -> int:
    a = build_parser(parser_class).parse_args(argv)
    check_data(a.data)
    settings = PretrainSettings(data=a.data, out=a.out, steps=a.steps, coherence_steps=a.coherence_steps,
                                coherence=a.coherence, batch=a.batch, lr=a.lr, seed=a.seed,
                                checkpoint_every=a.checkpoint_every, time_limit=a.time_limit, workers=a.workers,
                                device=a.device, threads=a.threads, progress=not a.quiet, cache=a.cache)
    from dataclasses import asdict

    from codec.families.teconerv.pretrain.train import PretrainConfig, pretrain

    r = pretrain(PretrainConfig(**asdict(settings)))
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0:
        state = "finished" if r.finished else "stopped (run again to resume)"
        print(f"pretrain {state} at step {r.step}: PSNR {r.psnr:.2f} dB (last steps), "
              f"{r.tubelets_per_second:.1f} tubelets/s, {r.seconds:.0f} s"
              + (f"; weights {r.weights}" if r.weights else ""))
    return 0
