"""Ctrl-C and SIGTERM, acted on where it is safe.

The command line installs :func:`handler` before anything heavy is imported. A signal raises
KeyboardInterrupt at once, except while compiled code runs (an exception raised inside it would
surface as a SystemError): then it waits for the end of the chunk. Either way it stays pending, so
that a library which swallows the KeyboardInterrupt (some do, around optional imports) cannot make
the run carry on: the next :func:`checkpoint` raises it again.
"""

from __future__ import annotations


class _State:
    running = False  # compiled code is running
    pending = False  # a signal arrived and has not ended the command yet


STATE = _State()


def handler(signum: int, frame: object) -> None:
    STATE.pending = True
    if not STATE.running:
        raise KeyboardInterrupt


def checkpoint() -> None:
    """Raise KeyboardInterrupt if a signal arrived."""
    if STATE.pending:
        raise KeyboardInterrupt
