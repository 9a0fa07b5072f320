"""The collapse probe (eval/collapse.py) on a real encode: every optimizer step recorded, the
quantizer steps and zeroed tensors read from the network, the family restored afterwards."""

from __future__ import annotations

import math

from codec.registry import get_family
from eval import collapse


def test_a_probe_records_every_step_and_restores_the_family(carphone_small, tmp_path):
    hnerv = get_family("hnerv")
    lr = hnerv.lr
    result = collapse.probe(carphone_small.path, tmp_path / "p.inrv", family="hnerv", quality=1, lr_mult=2.0,
                            steps=6, guarded=False)
    assert hnerv.lr == lr and hnerv.guarded and "trainable" not in vars(hnerv)
    assert [r.step for r in result.rows] == list(range(1, 7))
    row = result.rows[-1]
    assert math.isfinite(row.psnr) and row.bpp > 0 and row.head_step > 0 and row.max_step >= row.head_step
    assert row.zeroed >= 0 and (row.zeroed == 0) == (result.first_zeroed is None)
    assert result.file_bpp > 0 and math.isfinite(result.file_psnr)
    text = collapse.table(result, every=2)
    assert "zeroed" in text and "hnerv q1 lr x2" in text


def test_a_tensor_rounded_to_zeros_is_named():
    import torch

    from codec.tools.qat import QuantizedNetwork

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = QuantizedNetwork(torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 3)))

    model = Tiny()
    recorder = collapse._Recorder(pixels=1)
    recorder.model = model
    assert recorder._zeroed(1) == 0 and recorder.first_zeroed is None
    with torch.no_grad():
        model.net.quant.quantizers[2].log_step.fill_(math.log(1e3))  # layer 1's weight: every value under half a step
    assert recorder._zeroed(7) == 1
    assert recorder.first_zeroed.startswith("1.weight (12 values") and recorder.first_zeroed.endswith("at step 7")


def test_a_dip_that_heals_is_no_collapse_and_one_that_stays_is():
    def rows(psnrs):
        zero = dict(lr=0.0, bpp=0.1, head_mean=0.0, head_std=0.0, head_sat=0.0, head_bias=0.0, head_in_rms=0.0,
                    head_step=0.0, max_step=0.0, emb_step=0.0, adam_w=0.0, adam_steps=0.0, update=0.0)
        return [collapse.ProbeRow(step=i + 1, psnr=p, **zero) for i, p in enumerate(psnrs)]

    healed = [30.0] * 50 + [15.0] * 30 + [30.0] * 100
    stayed = [30.0] * 50 + [12.0] * 130
    assert collapse.collapse_step(rows(healed)) == (None, 30.0)
    at, best = collapse.collapse_step(rows(stayed))
    assert 50 < at < 60 and best == 30.0
