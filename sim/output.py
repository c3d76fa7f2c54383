"""Writing results files: to a temporary name first, then renamed, so that an interrupted run
leaves either the old file or the complete new one."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
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

    Python runs signal handlers in the main thread whichever thread the signal reached (numba's
    worker threads included), so swapping the handlers defers them all."""
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


def write_dataset(ds: xr.Dataset, path: str | Path, *, force: bool = True) -> Path:
    """A dataset to netCDF-4 (``.nc``, h5netcdf; readable by any netCDF tool) or zarr (``.zarr``),
    atomically."""
    path = Path(path)
    if path.suffix not in (".nc", ".zarr"):
        raise SimError("give a .nc or .zarr file name", file=path)
    if path.exists() and not force:
        raise SimError("exists; pass --force to replace it", file=path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent)) / path.name
        if path.suffix == ".nc":
            ds.to_netcdf(tmp, engine="h5netcdf")
        else:
            try:
                ds.to_zarr(tmp, mode="w")
            except ImportError:
                raise SimError("writing zarr needs the zarr package (pip install zarr)", file=path) from None
        with committing(path):
            if path.is_dir() and tmp.is_dir():
                old = path.with_name(f".{path.name}.old")
                os.replace(path, old)
                try:
                    os.replace(tmp, path)
                except OSError:
                    os.replace(old, path)
                    raise
                shutil.rmtree(old)
            else:
                os.replace(tmp, path)
    except OSError as err:  # a folder where a file goes, no permission, a full disk
        raise SimError(f"cannot write it: {err.strerror or err}; choose another name or place",
                       file=path) from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp.parent, ignore_errors=True)
    return path
