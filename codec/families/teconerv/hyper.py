"""The hypernetwork of ``teconerv`` (TeCoNeRV, Padmanabhan et al., 2026): a pre-norm transformer
over a tubelet's patch tokens that predicts the hyponetwork's modulation vectors.

Each frame of a tubelet is cut into ``patch x patch`` RGB patches, each mapped linearly to a
``dim``-wide token with a learned position embedding per (frame, patch). One learned weight token
per modulation vector is appended; after ``depth`` transformer layers each weight token's output
goes through its layer's LayerNorm + Linear to that vector. Sized for CPUs: TeCoNeRV's 480p model
is dim 720, depth 6 (about 38M parameters); the default here is dim 192, depth 4.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
from torch import nn

from codec.families.teconerv.net import HypoSpec


@dataclass(frozen=True)
class HyperSpec:
    """Architecture of the hypernetwork (stored in the weights file)."""

    patch: int = 16
    dim: int = 192
    depth: int = 4
    heads: int = 4
    ffn: int = 768

    def __post_init__(self) -> None:
        if not (2 <= self.patch <= 128 and 8 <= self.dim <= 4096 and 1 <= self.depth <= 48):
            raise ValueError("teconerv hypernetwork sizes out of range")
        if self.dim % self.heads or not 8 <= self.ffn <= 16384:
            raise ValueError("teconerv hypernetwork: heads must divide dim, ffn in 8..16384")

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class HyperNet(nn.Module):
    """(B, T, 3, H, W) tubelets in [0, 1] -> one (B, n, row) modulation tensor per modulated layer."""

    def __init__(self, spec: HyperSpec, hypo: HypoSpec) -> None:
        super().__init__()
        if hypo.height % spec.patch or hypo.width % spec.patch:
            raise ValueError("teconerv: the tubelet's sides must be multiples of the hypernetwork's patch")
        self.spec, self.hypo = spec, hypo
        n_data = hypo.frames * (hypo.height // spec.patch) * (hypo.width // spec.patch)
        self.embed = nn.Linear(3 * spec.patch * spec.patch, spec.dim)
        self.position = nn.Parameter(torch.randn(n_data, spec.dim) * 0.02)
        self.queries = nn.Parameter(torch.randn(sum(n for n, _ in hypo.mod_shapes), spec.dim) * 0.02)
        layer = nn.TransformerEncoderLayer(spec.dim, spec.heads, spec.ffn, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, spec.depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(spec.dim)
        self.heads = nn.ModuleList(nn.Sequential(nn.LayerNorm(spec.dim), nn.Linear(spec.dim, row))
                                   for _, row in hypo.mod_shapes)
        for head in self.heads:  # start at the base network (modulation 0): a mean model
            nn.init.zeros_(head[1].bias)
            head[1].weight.data.mul_(0.1)

    def tokens(self, clips: torch.Tensor) -> torch.Tensor:
        b, t, c, h, w = clips.shape
        p = self.spec.patch
        x = clips.reshape(b, t, c, h // p, p, w // p, p).permute(0, 1, 3, 5, 2, 4, 6)
        return self.embed(x.reshape(b, -1, c * p * p) * 2 - 1) + self.position

    def forward(self, clips: torch.Tensor) -> list[torch.Tensor]:
        data = self.tokens(clips)
        queries = self.queries.expand(len(clips), -1, -1)
        out = self.norm(self.blocks(torch.cat([data, queries], dim=1))[:, data.shape[1]:])
        mods, first = [], 0
        for (n, _), head in zip(self.hypo.mod_shapes, self.heads):
            mods.append(head(out[:, first : first + n]))
            first += n
        return mods
