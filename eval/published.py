"""Published rate-distortion points on UVG 1080p (RGB PSNR), drawn beside our curves as "(published)".

These are other people's numbers, copied as data with their sources; nothing here is computed by
inrv and they are never mixed into our results or BD-rate tables. They are averages over the seven
UVG sequences (HNeRV: 960x1920 crops) as the papers report them, with rates the papers' own
(NeRV's, for one, is an estimate from entropy, not a file size).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PublishedCurve", "UVG_PUBLISHED"]


@dataclass(frozen=True)
class PublishedCurve:
    """One published curve: label, (bpp, RGB PSNR dB) points, and where the numbers come from."""

    label: str
    points: tuple[tuple[float, float], ...]
    source: str

    @property
    def bpp(self) -> list[float]:
        return [p[0] for p in self.points]

    @property
    def psnr(self) -> list[float]:
        return [p[1] for p in self.points]


_TABLE_RATES = (0.03, 0.05, 0.1, 0.2)
_TABLE_SOURCE = (
    "inrv reference notes, table 'Strongest INR codecs and conventional anchors on UVG 1080p (RGB PSNR)': "
    "values at 0.03/0.05/0.1/0.2 bpp as reported in the comparisons of the HiNeRV (Kwan et al., NeurIPS 2023) "
    "and NVRC (Kwan et al., 2024) papers"
)


def _table(label: str, psnrs: tuple[float, float, float, float]) -> PublishedCurve:
    return PublishedCurve(label, tuple(zip(_TABLE_RATES, psnrs)), _TABLE_SOURCE)


#: Curves drawn on UVG plots. RGB PSNR in dB against bpp.
UVG_PUBLISHED: tuple[PublishedCurve, ...] = (
    PublishedCurve(
        "NeRV (paper)",
        ((0.0135, 31.28), (0.021, 32.53), (0.032, 33.69), (0.048, 34.71), (0.067, 35.57), (0.127, 36.59), (0.250, 37.86)),
        "Chen et al., NeRV: Neural Representations for Videos, NeurIPS 2021 (UVG; pruning + 8-bit + Huffman estimate)",
    ),
    PublishedCurve(
        "HNeRV (paper)",
        ((0.0139, 32.77), (0.0339, 34.39), (0.0657, 35.74)),
        "Chen et al., HNeRV: A Hybrid Neural Representation for Videos, CVPR 2023 (UVG 960x1920 crops)",
    ),
    PublishedCurve(
        "NIRVANA (paper)",
        ((0.19, 37.70),),
        "Maiya et al., NIRVANA: Neural Implicit Representations of Videos with Adaptive Networks and "
        "Autoregressive Patch-wise Modeling, CVPR 2023 (UVG, one point)",
    ),
    _table("HM-18 RA", (36.24, 37.35, 38.55, 39.52)),
    _table("VTM-17 RA", (36.60, 37.64, 38.80, 39.61)),
    _table("x265 medium, no B", (34.21, 35.53, 37.01, 38.15)),
    _table("NeRV", (33.48, 34.84, 36.24, 37.47)),
    _table("HNeRV", (33.71, 34.67, 35.90, 37.08)),
    _table("FFNeRV", (34.02, 35.33, 37.03, 38.55)),
    _table("C3", (34.75, 36.10, 37.84, 39.25)),
    _table("HiNeRV", (36.24, 37.51, 38.72, 39.81)),
)
