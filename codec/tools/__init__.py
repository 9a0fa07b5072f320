"""Parts that several model families use, each module named for what it holds.

Decoder side (nothing here trains): ``blocks`` (NeRV-style layers, stride planning), ``patches``
(patch grids and patch rendering), ``dequantize`` (stream values to tensors), ``sizing`` (budgets,
widths, the guard on what a stream's config asks for), ``wholeclip`` (the one-network-per-clip
family base and its decoder), ``fitoptions`` (the options and quality mapping of fitting families).

Training side, imported only by encoders: ``rate`` (the learned density; the one module that
imports compressai), ``qat`` (quantization in training), ``latents`` (integer latents with learned
decoders, trained as residuals between groups), ``fit`` (the fitting loop), ``groups`` (frame
groups and scene cuts).
"""
