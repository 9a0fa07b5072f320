"""inrv's codec: video I/O, model families, quantization in training, fitting, public API, CLI.

The public API (``codec.encode``, ``codec.decode``, ``codec.open``) is loaded on first use, so
that ``import codec.video`` and friends do not pay for torch.
"""

__version__ = "0.1.0"

__all__ = ["encode", "decode", "open", "EncodeConfig", "__version__"]


def __getattr__(name: str):
    if name in ("encode", "decode", "open", "CodedVideo"):
        from codec import api

        return getattr(api, name)
    if name == "EncodeConfig":
        from codec.config import EncodeConfig

        return EncodeConfig
    raise AttributeError(f"module 'codec' has no attribute {name!r}")
