"""``python -m codec.pretrain`` (what ``torchrun -m codec.pretrain`` runs): ``inrv pretrain``."""

import sys

from codec.cli import main

sys.exit(main(["pretrain", *sys.argv[1:]]))
