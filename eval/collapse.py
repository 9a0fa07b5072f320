"""Why a fitted network collapses: the logic behind ``scripts/collapse_probe.py``.

A probe runs one real encode (:func:`codec.encode`, the family's own training loop and file
writer) with the family's learning rate multiplied by ``lr_mult``, and records after every
optimizer step what the usual suspects of a collapse were doing:

* the batch's training PSNR and estimated bpp (what the loss saw),
* the learning rate of the weights (warm-up and cosine, as the loop set it),
* the RGB head's pre-activation ``y`` (the head conv's output, before ``sigmoid(2 y)``): its mean,
  its spread, and the share of samples whose output rounds to 0 or 255 whatever the sign of the
  gradient (``|y| > SATURATED``): there ``sigmoid'`` is below 1/127 of its peak and an output
  stuck at 255 gets almost no gradient back,
* the learned quantizer steps: the head weight's, the largest over the network, the embeddings',
* Adam's state: the RMS of the second moments (``sqrt(mean v)``) of the weights and of the
  quantizer steps, and the size of the weights' last update relative to the weights.

Nothing in the family changes: the hooks read (a forward hook on the head, a wrapper around the
trainable's ``render`` and ``rate_bits``, a global optimizer post-step hook), so a probe at
``lr_mult=1`` writes the file that the same ``inrv encode`` writes. Nothing is asserted: it
prints.
"""

from __future__ import annotations

import gzip
import json
import math
import sys
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

import codec
from codec.config import EncodeConfig
from codec.errors import ConfigError
from codec.finalcheck import Check
from codec.metrics import psnr_rgb
from codec.registry import get_family
from codec.tools.qat import QuantizedNetwork
from codec.video import open_video

#: |pre-activation| beyond which ``sigmoid(2 y)`` rounds to 0 or 255 (``2 y > ln(509)``).
SATURATED = 0.5 * math.log(509.0)
#: Adam's parameter groups by position, where the optimizer does not name them.
GROUPS = ("weights", "steps", "entropy")
#: A run has collapsed at the first step whose running PSNR lies this far under its best so far,
#: when it also ends this far under its best.
COLLAPSE_DB = 6.0


@dataclass(frozen=True)
class ProbeRow:
    """One optimizer step (``step`` counts from 1)."""

    step: int
    lr: float
    psnr: float
    bpp: float
    head_mean: float
    head_std: float
    head_sat: float
    head_bias: float
    head_in_rms: float
    head_step: float
    max_step: float
    emb_step: float
    adam_w: float
    adam_steps: float
    update: float
    zeroed: int = 0


@dataclass(frozen=True)
class ProbeResult:
    """A probe's rows, the step it collapsed at (None: it did not), the best running training
    PSNR, and the written file's measured figures."""

    clip: str
    family: str
    quality: int
    lr_mult: float
    steps: int
    rows: list[ProbeRow] = field(repr=False)
    collapse_step: int | None
    best_psnr: float
    file_psnr: float
    file_bpp: float
    mean_frame_psnr: float | None = None
    first_zeroed: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))


def _psnr(mse: float) -> float:
    return 10 * math.log10(1.0 / mse) if mse > 0 else 100.0


def _quantizer_steps(model: torch.nn.Module) -> dict[str, float]:
    """Every learned quantizer step of ``model`` by its parameter's name (``...log_step``)."""
    return {name[: -len(".log_step")]: float(p.detach().exp()) for name, p in model.named_parameters()
            if name.endswith("log_step")}


def _head(model: torch.nn.Module) -> tuple[str, torch.nn.Module] | None:
    """The RGB head (the last module named ``head`` with 3 output channels), if the model has one."""
    found = [(n, m) for n, m in model.named_modules()
             if n.split(".")[-1] == "head" and getattr(m, "out_channels", None) == 3]
    return found[-1] if found else None


class _Recorder:
    """Collects a :class:`ProbeRow` per optimizer step of the model it is attached to."""

    def __init__(self, pixels: int, echo: int = 0) -> None:
        self.pixels, self.rows, self.model, self.echo = pixels, [], None, echo
        self.last: dict[str, float] = {}
        self.handles: list = []
        self.head_step_index: int | None = None
        self.first_zeroed: str | None = None

    def attach(self, model: torch.nn.Module) -> None:
        self.model = model
        render, rate_bits = model.render, model.rate_bits

        def recorded_render(idx, target):
            out = render(idx, target)
            self.last["mse"] = float(torch.mean((out.detach().float() - target.float()) ** 2))
            return out

        def recorded_bits(noise):
            bits = rate_bits(noise)
            self.last["bits"] = float(bits.detach())
            return bits

        model.render, model.rate_bits = recorded_render, recorded_bits
        head = _head(model)
        if head is not None:
            self.handles.append(head[1].register_forward_hook(self._head_hook))

    def _head_hook(self, module, inputs, output) -> None:
        y = output.detach().float()
        self.last.update(head_mean=float(y.mean()), head_std=float(y.std()),
                         head_sat=float((y.abs() > SATURATED).float().mean()),
                         head_bias=float(module.bias.detach().float().mean()) if module.bias is not None else 0.0,
                         head_in_rms=float(inputs[0].detach().float().pow(2).mean().sqrt()))

    def after_step(self, opt: torch.optim.Optimizer, args, kwargs) -> None:
        if self.model is None:
            return
        # the runner names its groups; fit.py's were weights, steps, entropy in that order
        groups = {g.get("name", GROUPS[i] if i < len(GROUPS) else str(i)): g for i, g in enumerate(opt.param_groups)}
        first = opt.param_groups[0]
        weights = groups.get("weights", first)["params"]
        v_w = _second_moments(opt, weights)
        v_s = _second_moments(opt, groups["steps"]["params"]) if "steps" in groups else []
        qsteps = _quantizer_steps(self.model)
        head = _head(self.model)
        head_step = self._head_step(qsteps) if head is not None else math.nan
        emb = [s for n, s in qsteps.items() if "emb" in n]
        update = self._update_ratio(weights)
        row = ProbeRow(
            step=len(self.rows) + 1,
            lr=float(groups.get("weights", first)["lr"]),
            psnr=_psnr(self.last.get("mse", math.nan)),
            bpp=self.last.get("bits", math.nan) / self.pixels,
            head_mean=self.last.get("head_mean", math.nan),
            head_std=self.last.get("head_std", math.nan),
            head_sat=self.last.get("head_sat", math.nan),
            head_bias=self.last.get("head_bias", math.nan),
            head_in_rms=self.last.get("head_in_rms", math.nan),
            head_step=head_step,
            max_step=max((s for n, s in qsteps.items() if "emb" not in n), default=math.nan),
            emb_step=emb[0] if emb else math.nan,
            adam_w=_rms(v_w),
            adam_steps=_rms(v_s),
            update=update,
            zeroed=self._zeroed(len(self.rows) + 1),
        )
        self.rows.append(row)
        if self.echo and row.step % self.echo == 0:
            print(_line(row), file=sys.stderr, flush=True)

    def _head_step(self, qsteps: dict[str, float]) -> float:
        """The quantizer step of the head's weight: the network quantizer keeps its steps in
        parameter order, so the index of the head weight among the decoder's parameters."""
        if self.head_step_index is None:
            for name, module in self.model.named_modules():
                names = getattr(module, "names", None)
                if isinstance(names, list) and hasattr(module, "quantizers"):
                    weight = [i for i, n in enumerate(names) if n.endswith("head.weight")]
                    if weight:
                        self.head_step_index = weight[-1]
                        self._quant_prefix = f"{name}.quantizers.{self.head_step_index}"
        if self.head_step_index is None:
            return math.nan
        return qsteps.get(self._quant_prefix, math.nan)

    def _zeroed(self, step: int) -> int:
        """How many tensors of the model's quantized networks round to all zeros at their learned step (every value under
        half a step); the first such tensor, with its step and the step it happened at, is kept in
        :attr:`first_zeroed`."""
        count = 0
        with torch.no_grad():
            for module in self.model.modules():
                if not isinstance(module, QuantizedNetwork):
                    continue
                for name, w, q in module.quant.items(module.net):
                    largest, step_size = float(w.abs().max()), float(q.step)
                    if largest < 0.5 * step_size:
                        count += 1
                        if self.first_zeroed is None:
                            self.first_zeroed = (f"{name} ({w.numel()} values, max |w| {largest:.3g}, "
                                                 f"step {step_size:.3g}) at step {step}")
        return count

    def _update_ratio(self, weights: list[torch.Tensor]) -> float:
        """||w_t - w_{t-1}|| / ||w_t|| over the weights group."""
        flat = torch.cat([p.detach().reshape(-1) for p in weights]).float()
        prev, self._prev = getattr(self, "_prev", None), flat.clone()
        if prev is None or prev.shape != flat.shape:
            return math.nan
        return float((flat - prev).norm() / flat.norm().clamp_min(1e-12))

    def close(self) -> None:
        for h in self.handles:
            h.remove()


def _second_moments(opt: torch.optim.Optimizer, params: list[torch.Tensor]) -> list[torch.Tensor]:
    return [opt.state[p]["exp_avg_sq"] for p in params if "exp_avg_sq" in opt.state.get(p, {})]


def _rms(tensors: list[torch.Tensor]) -> float:
    if not tensors:
        return math.nan
    total = sum(float(t.float().pow(2).sum()) for t in tensors)  # v is already a squared gradient:
    count = sum(t.numel() for t in tensors)  # the RMS of v, then its square root: a gradient scale
    return math.sqrt(math.sqrt(total / count))


@contextmanager
def unguarded(family_name: str):
    """The whole-clip family ``family_name`` as it encoded before it had divergence guards and the
    encoder had its final check: the fit runs unguarded and the file is kept whatever it holds.
    Restored after. (What "before" means for ``scripts/collapse_probe.py --unguarded`` and
    ``scripts/audit_ladder.py --unguarded``: where no guard fires, a guarded fit writes the same
    bytes.)"""
    family = get_family(family_name)
    if not hasattr(family, "guarded"):
        raise ConfigError(f"{family_name}'s guards cannot be switched off (only whole-clip families')")
    verdict = Check.verdict
    family.guarded = False
    Check.verdict = _keep
    try:
        yield family
    finally:
        del family.guarded
        Check.verdict = verdict


def _keep(check: Check) -> None:
    return None


@contextmanager
def _probed(family_name: str, lr_mult: float, recorder: _Recorder):
    """The family with its learning rate times ``lr_mult`` and its trainable recorded; restored after."""
    family = get_family(family_name)
    had_lr = "lr" in vars(family)
    old_lr = family.lr
    make = family.trainable

    def trainable(*args, **kwargs):
        model = make(*args, **kwargs)
        recorder.attach(model)
        return model

    family.lr = old_lr * lr_mult
    family.trainable = trainable
    hook = register_optimizer_step_post_hook(recorder.after_step)
    try:
        yield family
    finally:
        hook.remove()
        recorder.close()
        del family.trainable
        if had_lr:
            family.lr = old_lr
        else:
            del family.lr


def collapse_step(rows: list[ProbeRow], margin: float = COLLAPSE_DB) -> tuple[int | None, float]:
    """The first step whose running PSNR (exponential, 0.9) lies ``margin`` dB under the best
    running PSNR before it, in a run that ends more than ``margin`` under its best (a dip that
    heals is no collapse); and the best running PSNR (before the collapse, else over the run)."""
    ema, best, first, best_before = None, -math.inf, None, -math.inf
    for row in rows:
        if not math.isfinite(row.psnr):
            continue
        ema = row.psnr if ema is None else 0.9 * ema + 0.1 * row.psnr
        if first is None and ema < best - margin:
            first, best_before = row.step, best
        best = max(best, ema)
    if first is None or ema is None or ema >= best - margin:
        return None, best
    return first, best_before


def mean_frame_psnr(path: Path, count: int | None = None) -> float:
    """PSNR-RGB of the per-pixel temporal mean of the clip's frames against the frames: what a
    codec that learnt nothing about motion scores."""
    with open_video(path) as reader:
        n = reader.info.num_frames if count is None else count
        frames = reader.read(0, n)
    mean = np.clip(np.rint(frames.astype(np.float64).mean(axis=0)), 0, 255).astype(np.uint8)
    return float(psnr_rgb(frames, np.broadcast_to(mean, frames.shape)).mean())


def probe(clip: Path, out: Path, family: str = "hnerv", quality: int = 6, lr_mult: float = 1.0,
          steps: int | None = None, seed: int = 0, count: int | None = None, threads: int = 1,
          echo: int = 0, guarded: bool = True) -> ProbeResult:
    """Encode ``clip`` into ``out`` with the family's learning rate times ``lr_mult`` (and
    ``steps`` training steps when given: the schedule's warm-up and decay follow), recording
    every step (module docstring); ``echo``: print a row to stderr every that many steps;
    ``guarded=False``: the fit without its divergence guards (what every whole-clip family did
    before they had them)."""
    options = {"steps": steps} if steps else {}
    enc = EncodeConfig.of(model=family, quality=quality, seed=seed, threads=threads, count=count,
                          progress=False, **options)
    with open_video(clip) as reader:
        info = reader.info
        frames = count or info.num_frames
    recorder = _Recorder(info.width * info.height * frames, echo)
    with unguarded(family) if not guarded else nullcontext(), _probed(family, lr_mult, recorder):
        result = codec.encode(clip, out, enc)
    at, best = collapse_step(recorder.rows)
    return ProbeResult(clip=str(clip), family=family, quality=quality, lr_mult=lr_mult, steps=len(recorder.rows),
                       rows=recorder.rows, collapse_step=at, best_psnr=best, file_psnr=result.psnr_rgb,
                       file_bpp=result.bpp, mean_frame_psnr=mean_frame_psnr(clip, frames),
                       first_zeroed=recorder.first_zeroed)


COLUMNS = (("step", "{:>5d}"), ("lr", "{:8.2e}"), ("psnr", "{:6.2f}"), ("bpp", "{:7.4f}"),
           ("head_mean", "{:7.2f}"), ("head_std", "{:6.2f}"), ("head_sat", "{:5.2f}"), ("head_bias", "{:7.3f}"),
           ("head_in_rms", "{:7.3f}"), ("head_step", "{:8.2e}"), ("max_step", "{:8.2e}"),
           ("emb_step", "{:8.2e}"), ("adam_w", "{:8.2e}"), ("adam_steps", "{:8.2e}"), ("update", "{:8.2e}"),
           ("zeroed", "{:>6d}"))


def _line(row: ProbeRow) -> str:
    values = asdict(row)
    return " ".join(fmt.format(values[name]).rjust(max(5, len(name), len(fmt.format(0)))) for name, fmt in COLUMNS)


def table(result: ProbeResult, every: int = 50, around: int = 8) -> str:
    """A row every ``every`` steps, every row within ``around`` steps of the collapse (found again
    from the rows: :func:`collapse_step`), the last."""
    at, best = collapse_step(result.rows)
    keep = {r.step for r in result.rows if r.step % every == 0 or r.step == 1 or r.step == len(result.rows)}
    if at is not None:
        keep |= set(range(at - 3 * around, at + around + 1))
    lines = [" ".join(name.rjust(max(5, len(name), len(fmt.format(0)))) for name, fmt in COLUMNS)]
    lines += [_line(row) for row in result.rows if row.step in keep]
    where = f"collapsed at step {at}" if at else "no collapse"
    lines.append(f"{result.family} q{result.quality} lr x{result.lr_mult:g} on {Path(result.clip).name}: {where}; "
                 f"best running training PSNR {best:.2f} dB; file {result.file_psnr:.2f} dB at "
                 f"{result.file_bpp:.4f} bpp; the clip's mean frame {result.mean_frame_psnr:.2f} dB"
                 + (f"; first tensor quantized to all zeros: {result.first_zeroed}" if result.first_zeroed else ""))
    return "\n".join(lines)


def load(path: Path) -> list[ProbeResult]:
    """The probes appended to a JSON-lines file by ``scripts/collapse_probe.py --results`` (or
    that file gzipped, ``.gz``)."""
    out = []
    text = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
    for line in text.splitlines():
        if line.strip():
            data = json.loads(line)
            data["rows"] = [ProbeRow(**r) for r in data["rows"]]
            out.append(ProbeResult(**data))
    return out
