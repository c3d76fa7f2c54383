"""Measurements that need a process of their own (``python -m benchmarks._worker COMMAND``).

``compile``: import sim, lay out the shipped example, and time the first call of the kernel (it
compiles, or loads from the cache in ``NUMBA_CACHE_DIR``) and a second one.
``memory SCENARIO PATHS``: ``sim.run`` of a scenario file with the defaults (as ``sim run``
would), then this process's peak resident set size, the number ``getrusage(RUSAGE_CHILDREN)`` gives
the parent for it.

Each prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path


def _compile() -> dict:
    t0 = time.perf_counter()
    from benchmarks.workloads import EXAMPLE
    from sim import api

    t1 = time.perf_counter()
    plan = api.load_inputs(EXAMPLE).plan()
    t2 = time.perf_counter()
    api.simulate(plan, paths=2048, seed=1, keep=16)
    t3 = time.perf_counter()
    api.simulate(plan, paths=2048, seed=1, keep=16)
    t4 = time.perf_counter()
    return {"import_s": t1 - t0, "load_s": t2 - t1, "first_call_s": t3 - t2, "second_call_s": t4 - t3}


def _peak_rss_kib() -> int:
    """This process's peak resident set, in KiB. Linux keeps ru_maxrss across fork and exec, so a
    child of a large process would report its parent's size: VmHWM belongs to the process's own
    address space."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _memory(scenario: str, paths: int) -> dict:
    import sim
    from sim import kernels

    cache_warm = kernels.compiled_on_disk()  # if not, compiling adds to the peak
    t0 = time.perf_counter()
    res = sim.run(scenario, paths=paths)
    seconds = time.perf_counter() - t0
    return {"paths": paths, "run_s": seconds, "peak_rss_mib": _peak_rss_kib() / 1024,
            "cache_warm": cache_warm,
            "probability_all": float(res.data["probability"].sel(scenario="weighted", target="all"))}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._worker")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("compile")
    mem = sub.add_parser("memory")
    mem.add_argument("scenario")
    mem.add_argument("paths", type=int)
    args = parser.parse_args()
    out = _compile() if args.command == "compile" else _memory(args.scenario, args.paths)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
