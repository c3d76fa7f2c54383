"""Errors meant for people: one line that names the file, the line and the key, and what to do."""

from __future__ import annotations

import re
from pathlib import Path

# what str.splitlines() breaks at: a message must stay on one line
_LINE_BREAKS = re.compile("[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")


class SimError(Exception):
    """Bad input or an impossible request. The CLI prints ``str(err)`` and exits with code 2."""

    def __init__(self, message: str, *, file: str | Path | None = None,
                 line: int | None = None, key: str | None = None) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.key = key
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        key = f"{self.key}: " if self.key else ""
        return _LINE_BREAKS.sub(lambda m: repr(m.group())[1:-1], f"{where}{key}{self.message}")


class SimulationError(SimError):
    """A run produced values it cannot honestly report (overflow, NaN)."""


class NothingToSimulateError(SimError):
    """A valid file none of whose targets can be simulated; ``skipped`` says why for each."""

    def __init__(self, message: str, *, file: str | None = None, skipped: list | None = None) -> None:
        super().__init__(message, file=file)
        self.skipped = skipped or []
