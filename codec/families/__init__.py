"""Model families, one package each (registered in :mod:`codec.registry`)."""
