"""``teconerv`` weights files: the hypernetwork and the hyponetwork's base, with their sizes.

A file is ``torch.save`` of a dict: ``format`` (:data:`FORMAT`), ``version``, ``hypo`` and
``hyper`` (the architectures as plain dicts), ``hypo_state`` and ``hyper_state`` (tensors) and
``training`` (a summary: corpus, steps, the command). Its id is its hash prefix
(:mod:`codec.weights`); the file is named ``teconerv-<id hex>.pt``.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from codec.errors import ConfigError
from codec.families.teconerv.net import HypoNet, HypoSpec
from codec.weights import file_id, find, shipped

FORMAT = "inrv-teconerv-weights"
VERSION = 1
PREFIX = "teconerv"
#: The id of the weights ``teconerv`` encodes with by default (docs/teconerv.md, "The shipped
#: weights"); other shipped files (kept for old streams) are found by the id a stream names.
DEFAULT_ID = "bbc74aea84f79693"


@dataclass(frozen=True)
class Pretrained:
    """A loaded weights file."""

    id: bytes
    path: Path
    hypo: HypoSpec
    hyper: dict
    hypo_state: dict
    hyper_state: dict
    training: dict

    def hyponet(self, device: torch.device) -> HypoNet:
        net = HypoNet(self.hypo)
        net.load_state_dict(self.hypo_state)
        return net.to(device).eval()


@lru_cache(maxsize=4)
def _load(path: Path, wid: bytes) -> Pretrained:
    try:
        doc = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError("not a teconerv weights file")
        if doc.get("version") != VERSION:
            raise ValueError(f"weights format version {doc.get('version')}, this inrv reads {VERSION}")
        hypo = HypoSpec.from_dict(doc["hypo"])
        weights = Pretrained(wid, path, hypo, dict(doc["hyper"]), doc["hypo_state"], doc["hyper_state"],
                          dict(doc.get("training", {})))
        HypoNet(hypo).load_state_dict(weights.hypo_state)  # shapes checked now, not at decode
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - any damage: one line
        raise ConfigError(f"cannot load teconerv weights {path}: {exc}") from None
    return weights


def load(path: str | os.PathLike) -> Pretrained:
    """The weights file at ``path``."""
    path = Path(path)
    return _load(path.resolve(), file_id(path))


def load_id(wid: bytes) -> Pretrained:
    """The weights a stream names (ConfigError naming them when they are not installed)."""
    return load(find(wid, PREFIX))


def default_path() -> Path:
    """The weights ``teconerv`` encodes with when none are given: the shipped file
    :data:`DEFAULT_ID` names."""
    for path in shipped(PREFIX):
        if path.stem == f"{PREFIX}-{DEFAULT_ID}":
            return path
    raise ConfigError(f"the default teconerv weights ({DEFAULT_ID}) are not installed: pass --weights FILE "
                      "(made by inrv pretrain)")


def save(folder: str | os.PathLike, hypo: HypoSpec, hyper: dict, hypo_state: dict, hyper_state: dict,
         training: dict) -> Path:
    """Write a weights file into ``folder`` under its hash name; returns its path."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, "hypo": hypo.as_dict(), "hyper": hyper,
                "hypo_state": {k: v.detach().cpu().float().clone() for k, v in hypo_state.items()},
                "hyper_state": {k: v.detach().cpu().float().clone() for k, v in hyper_state.items()},
                "training": training}, buffer)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".{PREFIX}-weights.part"
    part.write_bytes(buffer.getvalue())
    path = folder / f"{PREFIX}-{file_id(part).hex()}.pt"
    part.replace(path)
    return path
