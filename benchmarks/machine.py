"""What the numbers were measured on: CPU, cores, memory, library versions."""

from __future__ import annotations

import os
import platform
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from benchmarks import ROOT

PACKAGES = ("sim", "numpy", "numba", "llvmlite", "scipy", "statsmodels", "pandas", "xarray")


def describe() -> dict:
    info = {
        "cpu_model": _cpuinfo("model name"),
        "cpu_mhz": _cpuinfo("cpu mhz"),
        "cpu_flags_avx2": "avx2" in (_cpuinfo("flags") or "").split(),
        "cpu_flags_avx512f": "avx512f" in (_cpuinfo("flags") or "").split(),
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_total_mib": _meminfo_mib("MemTotal"),
        "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "numba_cache_dir": os.environ.get("NUMBA_CACHE_DIR", ""),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": {name: _version(name) for name in PACKAGES},
        "commit": _commit(),
    }
    return info


def _cpuinfo(key: str) -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip().lower() == key:
                return value.strip()
    except OSError:
        pass
    return None


def _meminfo_mib(key: str) -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _commit() -> str | None:
    """The checked-out commit, read from .git (no git command is run)."""
    git = ROOT / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        if (git / ref).is_file():
            return (git / ref).read_text().strip()
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        pass
    return None
