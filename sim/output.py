"""Writing outputs: to a temporary name beside the output first, then renamed into place, so that an
interrupted run leaves either the old output or the complete new one, never half of one.

:func:`atomic` is the one way every output is written (reports, charts, datasets, draft scenario
files, calibrated parameters). Its temporaries are named after the output and the process writing
it (``.NAME.PID.HEX.tmp``); a run that was killed leaves its temporary behind, and the next write of
the same output removes those whose process is gone (never another live run's).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from sim.errors import SimError

if TYPE_CHECKING:
    import xarray as xr

WRITTEN: list[Path] = []  # outputs this process completed, for the message of an interrupted command


@contextlib.contextmanager
def committing(path: str | Path) -> Iterator[None]:
    """The last step of writing an output (the renames, and removing what it replaced): Ctrl-C and
    SIGTERM wait until it is over, so the output is never missing, half-swapped or left beside a
    stale copy; once it is over the output counts as written and the signal is acted on.

    Python runs signal handlers in the main thread whichever thread the signal reached, so swapping
    the handlers defers them all."""
    pending: list[int] = []
    previous = {}
    with contextlib.suppress(ValueError):  # not the main thread: it has no handlers to swap
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda signum, frame: pending.append(signum))
    try:
        yield
        WRITTEN.append(Path(path))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        if pending:
            signal.raise_signal(pending[0])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def clean_leftovers(path: Path) -> None:
    """Remove the temporaries of ``path`` that runs which are no longer alive left behind."""
    pattern = re.compile(rf"^\.{re.escape(path.name)}\.(\d+)\.[0-9a-f]+\.(tmp|old)$")
    with contextlib.suppress(OSError):
        for sibling in path.parent.iterdir():
            match = pattern.match(sibling.name)
            if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
                _remove(sibling)


def _sibling(path: Path, kind: str) -> Path:
    while True:
        candidate = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.{kind}"
        if not candidate.exists():
            return candidate


@contextlib.contextmanager
def atomic(path: str | Path, *, force: bool = False, folder: bool = False,
           replaceable: Callable[[Path], str | None] | None = None) -> Iterator[Path]:
    """Write ``path`` (a file, or with ``folder`` a folder) atomically: yields a temporary path beside
    it to write; when the block ends without an error, the temporary takes ``path``'s place in one
    rename (an existing output is swapped out, then deleted).

    An existing output is replaced only with ``force``, and only if ``replaceable(path)`` says no
    reason against it (checked before and again at the swap). A write that fails because of the
    machine (no such folder, no permission, a full disk, a read-only file system) is a
    :class:`SimError` naming the output.
    """
    path = Path(path)
    check_place(path, force=force, replaceable=replaceable)
    try:
        clean_leftovers(path)
        tmp = _sibling(path, "tmp")
        if folder:
            tmp.mkdir()
    except OSError as err:
        raise SimError(f"cannot write here: {err.strerror or err}; choose another place", file=path) from None
    try:
        yield tmp
        refuse = _refusal(path, force, replaceable)  # it may have appeared while the output was built
        if refuse:
            raise SimError(refuse, file=path)
        swap = path.is_dir() and not path.is_symlink() and tmp.is_dir()  # a file never replaces a folder
        old = _sibling(path, "old") if swap else None
        with committing(path):
            if old is not None:
                os.rename(path, old)
            try:
                os.replace(tmp, path)
            except OSError:
                if old is not None:
                    os.rename(old, path)
                raise
            if old is not None:
                _remove(old)
    except OSError as err:  # a folder where a file goes, no permission, a full disk
        raise SimError(f"cannot write it: {err.strerror or err}; choose another name or place",
                       file=path) from None
    finally:
        if tmp.exists() or tmp.is_symlink():
            _remove(tmp)


def check_place(path: str | Path, *, force: bool = False,
                replaceable: Callable[[Path], str | None] | None = None) -> None:
    """Refuse at once an output that could not be written (an existing one without ``force``, a
    missing folder, a file where the folder should be), before any work is done for it."""
    path = Path(path)
    refuse = _refusal(path, force, replaceable)
    if refuse:
        raise SimError(refuse, file=path)
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise SimError(f"{parent} is a file, not a folder; choose another place", file=path)
    if not parent.is_dir():
        raise SimError(f"no folder {parent}; create it first or choose another place", file=path)


def _refusal(path: Path, force: bool, replaceable: Callable[[Path], str | None] | None) -> str | None:
    if not path.exists() and not path.is_symlink():
        return None
    if not force:
        return "already exists; pass --force to replace it, or choose another name"
    return replaceable(path) if replaceable is not None else None


def write_text(path: str | Path, text: str, *, force: bool = False,
               check: Callable[[Path], None] | None = None) -> Path:
    """Write ``text`` (UTF-8) atomically; ``check(tmp)`` may refuse it before it takes the name."""
    with atomic(path, force=force) as tmp:
        tmp.write_text(text, encoding="utf-8")
        if check is not None:
            check(tmp)
    return Path(path)


def write_dataset(ds: xr.Dataset, path: str | Path, *, force: bool = True) -> Path:
    """A dataset to netCDF-4 (``.nc``, h5netcdf; readable by any netCDF tool) or zarr (``.zarr``),
    atomically."""
    path = Path(path)
    if path.suffix not in (".nc", ".zarr"):
        raise SimError("give a .nc or .zarr file name", file=path)
    with atomic(path, force=force) as tmp:
        if path.suffix == ".nc":
            ds.to_netcdf(tmp, engine="h5netcdf")
        else:
            try:
                ds.to_zarr(tmp, mode="w", zarr_format=2)  # v2: a stable spec every reader knows
            except ImportError:
                raise SimError("writing zarr needs the zarr package (pip install zarr)", file=path) from None
    return path


def write_figure(figure: object, path: str | Path, *, force: bool = True) -> Path:
    """A matplotlib figure as a PNG, atomically."""
    with atomic(path, force=force) as tmp:
        figure.savefig(tmp, format="png", dpi=150, bbox_inches="tight")
    return Path(path)
