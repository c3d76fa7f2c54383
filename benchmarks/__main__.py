"""Run the benchmark suite, write benchmarks/results/<timestamp>.json and print a table.

``python -m benchmarks [--quick] [--only NAME ...]`` from the repository root.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
import traceback
from pathlib import Path

from benchmarks import RESULTS, ROOT


def main(argv: list[str] | None = None) -> int:
    from benchmarks.suites import FULL, GROUPS, QUICK

    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--only", action="append", choices=list(GROUPS), metavar="NAME",
                        help=f"run only this group (repeatable): {', '.join(GROUPS)}")
    parser.add_argument("--out", type=Path, default=None, help="the JSON file (default: "
                        "benchmarks/results/<timestamp>.json)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    groups = args.only or list(GROUPS)

    from benchmarks.machine import describe

    started = dt.datetime.now(dt.UTC)
    doc = {"suite": "sim benchmarks (issue 6)", "created": started.isoformat(timespec="seconds"),
           "mode": "quick" if args.quick else "full", "groups": groups, "machine": describe(),
           "sizes": vars(sizes), "measurements": [], "errors": []}
    for name in groups:
        print(f"[benchmarks] {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            doc["measurements"] += GROUPS[name](sizes)
        except Exception as err:  # noqa: BLE001 - one broken group must not lose the others' results
            doc["errors"].append({"group": name, "error": f"{type(err).__name__}: {err}",
                                  "traceback": traceback.format_exc()})
            print(f"[benchmarks] {name} failed: {type(err).__name__}: {err}", file=sys.stderr)
        print(f"[benchmarks] {name} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    doc["elapsed_s"] = (dt.datetime.now(dt.UTC) - started).total_seconds()
    doc["targets"] = [{"name": m["name"], "target": m["target"], "value": m["value"], "met": m["met"]}
                      for m in doc["measurements"] if "met" in m]
    out = args.out or RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, ensure_ascii=False, default=_plain) + "\n")
    print(table(doc["measurements"]))
    shown = out.relative_to(ROOT) if out.resolve().is_relative_to(ROOT) else out
    print(f"\nwritten to {shown}; {sum(t['met'] for t in doc['targets'])} of {len(doc['targets'])} "
          f"targets met" + (f"; {len(doc['errors'])} group(s) failed" if doc["errors"] else ""))
    return 1 if doc["errors"] else 0


def table(measurements: list[dict]) -> str:
    """The measurements as a plain-text table: name, value, unit, baseline, target, met."""
    rows = [("name", "value", "unit", "baseline", "target", "met")]
    for m in measurements:
        rows.append((m["name"], _fmt(m["value"]), m["unit"], m.get("baseline", ""), m.get("target", ""),
                     {True: "yes", False: "NO"}.get(m.get("met"), "")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i != 1 else cell.rjust(w) for i, (cell, w) in
                       enumerate(zip(row, widths, strict=True))).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1e5:
        return f"{value:.3g}"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:,.1f}"


def _plain(obj: object) -> object:
    """JSON for numpy scalars and arrays."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


if __name__ == "__main__":
    sys.exit(main())
