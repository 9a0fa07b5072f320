"""Dataset-level training: the teconerv hypernetwork (:func:`pretrain`), its corpus and tubelets.

Nothing here is imported by encoding or decoding a stream.
"""

from codec.families.teconerv.pretrain.train import PretrainConfig, PretrainResult, pretrain

__all__ = ["PretrainConfig", "PretrainResult", "pretrain"]
