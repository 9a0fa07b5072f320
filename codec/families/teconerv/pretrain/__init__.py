"""Dataset-level training: the teconerv hypernetwork (:func:`pretrain`), its corpus and tubelets.

Nothing here is imported by encoding or decoding a stream. The package itself is light (no torch):
``inrv pretrain`` parses and checks its arguments (:mod:`.settings`) before :mod:`.train` is
imported, on first use of the names below.
"""

__all__ = ["PretrainConfig", "PretrainResult", "PretrainSettings", "pretrain"]


def __getattr__(name: str):
    """The names of :mod:`.train` (torch), imported when first asked for."""
    if name == "PretrainSettings":
        from codec.families.teconerv.pretrain.settings import PretrainSettings

        return PretrainSettings
    if name in __all__:
        from codec.families.teconerv.pretrain import train

        return getattr(train, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
