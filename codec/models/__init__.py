"""Model families. Importing this package registers every built-in family."""

from codec.models import hnerv, nerv, nirvana  # noqa: F401
