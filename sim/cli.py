"""The ``sim`` command: a thin skin over :mod:`sim.api`.

Exit codes: 0 done; 2 bad input (the message names file, line and key); 1 internal error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import unicodedata
from collections.abc import Sequence

from sim import api
from sim.errors import SimError
from sim.results import ALL, WEIGHTED, Results


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SimError as err:
        print(f"sim: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("sim: interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - the last line of defence: one line, exit 1
        print(f"sim: internal error: {type(err).__name__}: {err} (please report it with the command "
              "you ran)", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="probability of meeting each target of a scenario file")
    run.add_argument("scenario", help="a scenario file, e.g. scenarios/jinan-2025.yaml")
    run.add_argument("--paths", type=int, default=api.DEFAULT_PATHS, help="Monte Carlo paths")
    run.add_argument("--seed", type=int, default=api.DEFAULT_SEED, help="random seed")
    run.add_argument("--threads", type=int, default=None, help="numba threads (default: all cores)")
    run.add_argument("--keep", type=int, default=api.DEFAULT_KEEP, help="paths kept for quantiles")
    run.add_argument("--as-of", type=_date, default=None, help="use only data published by YYYY-MM-DD")
    run.add_argument("--json", action="store_true", help="print JSON records instead of a table")
    run.set_defaults(func=_run)
    cal = sub.add_parser("calibrate", help="fit the model's parameters to calibration/data")
    cal.add_argument("--region", action="append", help="a region (repeatable; default: every region "
                     "with data)")
    cal.add_argument("--as-of", type=_date, default=None, help="use only data published by YYYY-MM-DD")
    cal.add_argument("--model", default="industry", help="the model in models/ (default: industry)")
    cal.add_argument("--root", default=".", help="the project folder (default: the current one)")
    cal.set_defaults(func=_calibrate)
    bt = sub.add_parser("backtest", help="score the forecasts made at the end of YEAR-1 against YEAR")
    bt.add_argument("--year", type=int, required=True, help="the year forecast")
    bt.add_argument("--paths", type=int, default=20_000, help="Monte Carlo paths per forecast")
    bt.add_argument("--seed", type=int, default=api.DEFAULT_SEED, help="random seed")
    bt.add_argument("--root", default=".", help="the project folder (default: the current one)")
    bt.add_argument("--json", action="store_true", help="print JSON instead of tables")
    bt.set_defaults(func=_backtest)
    return parser


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _run(args: argparse.Namespace) -> int:
    from sim import kernels

    if not kernels.compiled_on_disk():
        print("sim: compiling the simulation kernel (first run only, about 20 s; cached after)",
              file=sys.stderr)
    results = api.run(args.scenario, paths=args.paths, seed=args.seed, keep=args.keep,
                      threads=args.threads, as_of=args.as_of)
    print(results.to_json() if args.json else table(results))
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from sim.calibrate import calibrate  # statsmodels loads slowly: only when asked

    docs = calibrate(args.root, args.region, model_name=args.model, as_of=args.as_of)
    for region, doc in docs.items():
        print(f"{region}: calibration/params/{region.lower()}.yaml  (shocks: t df "
              f"{doc['shocks']['df']['value']:.3g})")
        for name, p in doc["processes"].items():
            extra = (f"  shrinkage {p['shrinkage']:.2f}" if "shrinkage" in p else "") + (
                f"  borrowed: {', '.join(p['borrowed'])}" if p.get("borrowed") else "")
            print(f"  {name:30s} mean {p['mean']['value']:8.3g} ± {p['mean']['std_error']:<7.2g} "
                  f"phi {p['phi']['value']:6.2f} ± {p['phi']['std_error']:<5.2f} "
                  f"sigma {p['sigma']['value']:6.3g}{extra}")
        if doc["note"]:
            print(f"  {doc['note']}")
    return 0


def _backtest(args: argparse.Namespace) -> int:
    import json

    from sim.backtest import backtest

    bt = backtest(args.root, args.year, paths=args.paths, seed=args.seed)
    if args.json:
        print(json.dumps({"year": bt.year, "growth": bt.growth.to_dict("records"),
                          "targets": bt.targets.to_dict("records"),
                          "summary": bt.summary().reset_index().to_dict("records")},
                         ensure_ascii=False, indent=1, default=float))
        return 0
    cols = ["region", "realized", "median", "p10", "p90", "pit", "crps", "log_score"]
    print(f"Backtest {bt.year}: forecasts made with the data published by {bt.year - 1}-12-31\n")
    print("Value-added growth, the model's forecasts:")
    print(bt.growth[bt.growth["forecaster"] == "sim"][cols].round(2).to_string(index=False))
    if len(bt.targets):
        print("\nTargets with a known outcome:")
        print(bt.targets.round(3).to_string(index=False))
        print("\nCalibration of the target probabilities:")
        print(bt.calibration.round(3).to_string())
    print("\nPIT of the growth forecasts by decile (flat if calibrated):", " ".join(map(str, bt.pit.values)))
    print("\nMean scores (lower CRPS, log score, Brier are better; in_50/in_80: interval coverage):")
    print(bt.summary().round(3).to_string())
    return 0


def table(results: Results) -> str:
    """The probability table a planner reads: one row per target, one column per scenario."""
    d = results.data
    scenarios = [str(s) for s in d["scenario"].values]
    header = ["target", "目标", "last observed", f"{d.attrs['target_year']}: median [P10, P90]",
              *[f"P({s})" for s in scenarios]]
    rows = []
    for target in d["target"].values:
        t = d.sel(target=target)
        if target == ALL:
            last, spread = "", ""
        else:
            unit = _display_unit(t)
            last = (f"{_num(t['last_value'].item())}{unit} ({int(t['last_year'].item())})"
                    if t["last_value"].item() == t["last_value"].item() else "—")
            q = t["measure_quantile"].sel(scenario=WEIGHTED)
            spread = (f"{_num(q.sel(quantile=0.5).item())}{unit} "
                      f"[{_num(q.sel(quantile=0.1).item())}, {_num(q.sel(quantile=0.9).item())}]")
        probs = [_prob(t["probability"].sel(scenario=s).item(), t["std_error"].sel(scenario=s).item())
                 for s in scenarios]
        rows.append([str(t["name_en"].item()), str(t["name_zh"].item()), last, spread, *probs])
    a = d.attrs
    lines = [f"{a['region']} {a['target_year']} · {a['scenario_file']} · {a['paths']:,} paths · "
             f"seed {a['seed']}" + (f" · data as of {a['as_of']}" if a["as_of"] else ""),
             *_grid([header, *rows]),
             "P(·): probability of meeting the target ± one Monte Carlo standard error (pp); "
             "weighted: scenarios mixed by their weights; median and range: the weighted mixture."]
    if results.notes:
        lines.append("Notes:")
        lines += [f"  {note}" for note in results.notes]
    if results.skipped:
        lines.append("Not simulated:")
        lines += [f"  {s.target}: {s.reason}" for s in results.skipped]
    return "\n".join(lines)


def _prob(p: float, se: float) -> str:
    se = 100 * se
    return f"{100 * p:5.1f}% ± {se:.1f}" if se >= 0.05 else f"{100 * p:5.1f}% ± {se:.2f}"


def _display_unit(t) -> str:  # noqa: ANN001 - an xarray row
    measure, unit = t["measure"].item(), t["unit"].item()
    if measure in ("growth", "change_since"):
        return "%"
    if measure == "difference_since":
        return "pp"
    return unit if unit in ("%", "pp") else f" {unit}" if unit else ""


def _num(x: float) -> str:
    if x != x:
        return "—"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}" if abs(x) >= 100 else f"{x:.2f}"


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _grid(rows: list[list[str]]) -> list[str]:
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for k, row in enumerate(rows):
        cells = (cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True))
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


if __name__ == "__main__":
    sys.exit(main())
