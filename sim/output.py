"""Writing results files: to a temporary name first, then renamed, so that an interrupted run
leaves either the old file or the complete new one."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import xarray as xr

from sim.errors import SimError


def write_dataset(ds: xr.Dataset, path: str | Path, *, force: bool = True) -> Path:
    """A dataset to netCDF (``.nc``, h5netcdf) or zarr (``.zarr``), atomically."""
    path = Path(path)
    if path.suffix not in (".nc", ".zarr"):
        raise SimError("give a .nc or .zarr file name", file=path)
    if path.exists() and not force:
        raise SimError("exists; pass --force to replace it", file=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent)) / path.name
    try:
        if path.suffix == ".nc":
            ds.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=True)
        else:
            try:
                ds.to_zarr(tmp, mode="w")
            except ImportError:
                raise SimError("writing zarr needs the zarr package (pip install zarr)", file=path) from None
        if path.is_dir() and tmp.is_dir():
            old = path.with_name(f".{path.name}.old")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)
    return path
