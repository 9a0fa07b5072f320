"""Test-session set-up shared by every package's tests."""

from codec.device import configure_threads

# Same CPU thread policy as the CLI: all cores when idle, fewer under load (see configure_threads).
configure_threads()
