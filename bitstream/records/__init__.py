"""What the chunks of a ``.inrv`` file hold (``docs/bitstream.md`` §9 to §11), one module per
family's records:

* :mod:`bitstream.records.kinds`: every permanent chunk kind, its name and the families that
  write it (``CHUNK_NAMES``).
* :mod:`bitstream.records.tensorlist`: network and embedding chunks of ``nerv`` and ``hnerv``
  (a count, then quantized tensor records).
* :mod:`bitstream.records.nirvana`: group records (a group's latents as residuals to the previous
  group's, the per-tensor decoders in the first group).
* :mod:`bitstream.records.teconerv`: segment records (modulation codes per layer, direct or as
  residuals to the previous segment's).
* :mod:`bitstream.records.grid`: grid records (synthesis and context networks as residuals, the
  latent levels as ANS words).

Integer arrays whose shapes the reader knows are written and read by one pair of functions,
:func:`bitstream.tensor.write_arrays` / :func:`bitstream.tensor.read_arrays`. numpy and the
standard library only: the torch side (turning records into weights) lives in ``codec``.
"""
