"""Instruction-level profile of the kernel: ``python -m benchmarks.perf_kernel [--workload a|b]``.

Linux ``perf`` samples the kernel on one thread; numba's compiled functions are named through a
perf map (``/tmp/perf-<pid>.map``), and the samples that fall in the kernel's parallel body (where
everything is inlined) are binned by instruction of its disassembly (``objdump``). Prints the share
of samples by symbol and the hottest 256-byte windows, and writes the annotated disassembly to
``benchmarks/results/perf-<workload>.txt`` (percent of the body's samples per instruction).

Compiles the kernel afresh in a temporary cache (numba does not keep the code of cached
functions in a form that can be mapped), so it takes a minute; needs ``perf`` and ``objdump``.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from benchmarks import RESULTS

PATHS = {"a": 1_000_000, "b": 300_000}
BODY = "simulate"  # the kernel's own function (its callees are inlined into it)


def _functions(library: object, seen: set[int], out: list[tuple[int, str]]) -> None:
    """(address, name) of every function defined in a numba library and the ones it links."""
    if id(library) in seen:
        return
    seen.add(id(library))
    for fn in library._final_module.functions:
        if not fn.is_declaration:
            address = library.get_pointer_to_function(fn.name)
            if address:
                out.append((address, fn.name))
    for sub in getattr(library, "_linking_libraries", []):
        _functions(sub, seen, out)


def profile(workload: str) -> None:
    from benchmarks.workloads import MONTHLY, WIDE, plan
    from sim import api, kernels

    p = plan({"a": WIDE, "b": MONTHLY}[workload].scenario)
    api.simulate(p, paths=1024, seed=1, keep=1, threads=1)  # compile
    funcs: list[tuple[int, str]] = []
    for overload in kernels.simulate.overloads.values():
        _functions(overload.library, set(), funcs)
    funcs.sort()
    sizes = [(funcs[i + 1][0] if i + 1 < len(funcs) else a + (1 << 16)) - a for i, (a, _) in enumerate(funcs)]
    with open(f"/tmp/perf-{os.getpid()}.map", "w") as fh:
        for (address, name), size in zip(funcs, sizes, strict=True):
            fh.write(f"{address:x} {min(size, 1 << 20):x} {name}\n")
    size, address = max((s, a) for (a, n), s in zip(funcs, sizes, strict=True) if BODY in n)
    code = ctypes.string_at(address, size)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        perf = subprocess.Popen(["perf", "record", "-F", "5000", "-o", data, "-p", str(os.getpid())],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        api.simulate(p, paths=PATHS[workload], seed=1, keep=1, threads=1)
        perf.send_signal(signal.SIGINT)
        perf.wait()
        report = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "sym", "--stdio"],
                                capture_output=True, text=True).stdout
        ips = subprocess.run(["perf", "script", "-i", data, "-F", "ip"], capture_output=True,
                             text=True).stdout
        blob = os.path.join(tmp, "body.bin")
        with open(blob, "wb") as fh:
            fh.write(code)
        dis = subprocess.run(["objdump", "-D", "-b", "binary", "-mi386:x86-64", f"--adjust-vma={address:#x}",
                              "--no-show-raw-insn", blob], capture_output=True, text=True).stdout
    print("\n".join(line[:140] for line in report.splitlines() if line and not line.startswith("#"))[:3000])
    ins = [(int(m[1], 16), m[2]) for m in re.finditer(r"^\s*([0-9a-f]+):\s+(.*)$", dis, re.M)]
    starts = [a for a, _ in ins]
    hits: collections.Counter[int] = collections.Counter()
    for ip in (int(x, 16) for x in ips.split()):
        if address <= ip < address + size:
            hits[bisect.bisect_right(starts, ip) - 1] += 1
    total = sum(hits.values()) or 1
    windows: collections.Counter[int] = collections.Counter()
    for k, n in hits.items():
        windows[(ins[k][0] - address) // 256] += n
    print(f"\nkernel body: {total} samples; hottest 256-byte windows (offset: share)")
    for w, n in sorted(windows.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {w * 256:6x}: {n / total:6.1%}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"perf-{workload}.txt"
    out.write_text("".join(f"{hits.get(k, 0) / total * 100:6.2f} {a - address:6x}: {text}\n"
                           for k, (a, text) in enumerate(ins)))
    print(f"annotated disassembly: {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf_kernel",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=["a", "b"], default="b")
    args = parser.parse_args(argv)
    missing = [tool for tool in ("perf", "objdump") if shutil.which(tool) is None]
    if missing:
        print(f"perf_kernel: needs {' and '.join(missing)} (Debian: apt-get install linux-perf binutils)",
              file=sys.stderr)
        return 2
    if os.environ.get("NUMBA_CACHE_DIR") is None:  # compile afresh: cached code cannot be mapped
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "NUMBA_CACHE_DIR": cache}
            return subprocess.run([sys.executable, "-m", "benchmarks.perf_kernel", *(argv or sys.argv[1:])],
                                  env=env).returncode
    profile(args.workload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
