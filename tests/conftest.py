"""Test-session set-up shared by every package's tests."""

from codec.device import configure_threads

# Same CPU thread policy as the CLI: every core, or INRV_THREADS (see configure_threads).
configure_threads()
