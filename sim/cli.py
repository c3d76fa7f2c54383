"""sim: the probability that a region meets its industrial targets, by calibrated Monte Carlo.

Exit codes: 0 done; 2 bad input (the message names file, line and key); 1 internal error;
130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from sim import bounds, interrupt, labels
from sim.errors import NothingToSimulateError, SimError
from sim.output import check_place

if TYPE_CHECKING:
    import pandas as pd

    from sim.results import Results
    from sim.track import Track

# numpy, pandas, xarray and numba load only once the signal handlers are in place (see main)

def main(argv: Sequence[str] | None = None) -> int:
    # SIGTERM unwinds like Ctrl-C, so temporary files are removed and no output is half-written;
    # installed first, so that a signal during the imports ends as cleanly as one during a run
    previous = {}
    with contextlib.suppress(ValueError):  # only the main thread may set handlers
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, interrupt.handler)
    interrupt.STATE.pending = False
    try:
        args = _parser().parse_args(argv)
        return args.func(args)
    except SimError as err:
        print(f"sim: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        from sim.output import WRITTEN

        done = f"complete before it: {', '.join(map(str, WRITTEN))}" if WRITTEN else "no output was written"
        print(f"sim: interrupted; {done}", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - the last line of defence: one line, exit 1
        print(f"sim: internal error: {type(err).__name__}: {err} (please report it with the command "
              "you ran)", file=sys.stderr)
        return 1
    finally:  # called in-process (notebooks, tests), the caller gets its own handlers back
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        interrupt.STATE.pending = False
        if "sim.output" in sys.modules:  # the next command's interrupt message names only its own
            sys.modules["sim.output"].WRITTEN.clear()


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line, as every other error of sim."""

    def error(self, message: str) -> NoReturn:
        raise SimError(f"{message}; see {self.prog} --help")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="sim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    def simulation(name: str, help_: str, func: Callable, *, many: bool = False,
                   paths: int = bounds.DEFAULT_PATHS) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        p.add_argument("scenario", nargs="+" if many else None,
                       help="scenario file(s), e.g. scenarios/jinan-2025.yaml")
        p.add_argument("--paths", type=bounds.PATHS.arg(), default=paths,
                       help=f"Monte Carlo paths (default {paths:,}; at most {bounds.PATHS.high:,})")
        p.add_argument("--seed", type=bounds.SEED.arg(), default=bounds.DEFAULT_SEED, help="random seed")
        p.add_argument("--threads", type=_threads, default=None, help="threads (default: all cores)")
        p.add_argument("--as-of", type=iso_date, default=None, help="use only data published by YYYY-MM-DD")
        p.add_argument("--lang", choices=("en", "zh"), default="en", help="language of tables and reports")
        p.set_defaults(func=func)
        return p

    run = simulation("run", "probability of meeting each target of scenario files", _run, many=True)
    run.add_argument("--keep", type=bounds.KEEP.arg(), default=bounds.DEFAULT_KEEP,
                     help=f"paths kept for quantiles (default {bounds.DEFAULT_KEEP:,})")
    run.add_argument("--json", action="store_true", help="print JSON records instead of a table")
    req = simulation("required", "the growth each target needs for a 50/80/90%% chance", _required)
    req.add_argument("--levels", type=bounds.LEVEL.arg(), nargs="+", default=[0.5, 0.8, 0.9],
                     help="probabilities, each above 0 and below 1")
    req.add_argument("--scenario", dest="scenario_choice", default=None,
                     help="the scenario to start from (default: the first)")
    req.add_argument("--json", action="store_true", help="print JSON records instead of a table")
    sens = simulation("sensitivity", "how each assumption moves each probability (a tornado)", _sensitivity)
    sens.add_argument("--scenario", dest="scenario_choice", default=None,
                      help="the scenario to start from (default: the first)")
    sens.add_argument("--json", action="store_true", help="print JSON records instead of a table")
    sens.add_argument("--chart", default=None, help="write tornado charts to this PNG file (one per target: "
                      "NAME-<target>.png)")
    cmp_ = simulation("compare", "scenarios side by side: of one file, or the first of several files",
                      _compare, many=True)
    cmp_.add_argument("--scenarios", nargs="+", default=None, help="scenario names to compare (one file)")
    cmp_.add_argument("--chart", default=None, help="write overlaid fan charts to this PNG file (one per "
                      "indicator: NAME-<indicator>.png when there are several)")
    rep = simulation("report", "an HTML report with tables, fan charts, sources; CSV, xlsx, netCDF", _report)
    rep.add_argument("-o", "--out", required=True, help="output folder")
    rep.add_argument("--force", action="store_true", help="replace an existing output folder")
    for p in (run, cmp_, rep):
        p.add_argument("--antithetic", action="store_true", help="pairs of paths with opposite shocks "
                       "(a variance reduction; --paths must be even)")

    tr = sub.add_parser("track", help="the probability of each target at each month-end of the year, as "
                        "the data came in")
    tr.add_argument("scenario", help="a scenario file, e.g. scenarios/qingdao-2024.yaml")
    tr.add_argument("--from", dest="start", type=iso_date, default=None,
                    help="the first date YYYY-MM-DD (default: 1 January of the file's year)")
    tr.add_argument("--to", dest="end", type=iso_date, default=None,
                    help="the last date YYYY-MM-DD (default: the last publication of data on the year)")
    tr.add_argument("--paths", type=bounds.PATHS.arg(), default=bounds.TRACK_PATHS,
                    help=f"Monte Carlo paths at each date (default {bounds.TRACK_PATHS:,})")
    tr.add_argument("--seed", type=bounds.SEED.arg(), default=bounds.DEFAULT_SEED, help="random seed")
    tr.add_argument("--threads", type=_threads, default=None, help="threads (default: all cores)")
    tr.add_argument("--chart", default=None, help="write the chart to this PNG file")
    tr.add_argument("--json", action="store_true", help="print JSON instead of a table")
    tr.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the table and chart")
    tr.set_defaults(func=_track)
    sw = sub.add_parser("sweep", help="every scenario file x a grid of shifts and volatilities, on Dask")
    sw.add_argument("scenario", nargs="+", help="scenario files")
    sw.add_argument("--shift", type=bounds.SHIFT["%"].arg(), nargs="+", default=[0.0],
                    help="shifts of the processes' means, in their units")
    sw.add_argument("--vol", type=bounds.VOLATILITY.arg(), nargs="+", default=[1.0],
                    help="volatility multipliers")
    sw.add_argument("--process", nargs="+", default=["iva_national"], help="the processes shifted")
    sw.add_argument("--paths", type=bounds.PATHS.arg(), default=50_000, help="Monte Carlo paths per case")
    sw.add_argument("--seed", type=bounds.SEED.arg(), default=bounds.DEFAULT_SEED, help="random seed")
    sw.add_argument("--as-of", type=iso_date, default=None, help="use only data published by YYYY-MM-DD")
    sw.add_argument("--scheduler", default=None, help="an existing cluster, tcp://host:port")
    sw.add_argument("--workers", type=bounds.WORKERS.arg(), default=2, help="workers of the local cluster")
    sw.add_argument("--local", action="store_true", help="run the cases here, without Dask")
    sw.add_argument("-o", "--out", default=None, help="write the result to a .nc or .zarr file")
    sw.set_defaults(func=_sweep)
    cal = sub.add_parser("calibrate", help="fit the model's parameters to calibration/data")
    cal.add_argument("--region", action="append", help="a region (repeatable; default: every region "
                     "with data)")
    cal.add_argument("--as-of", type=iso_date, default=None, help="use only data published by YYYY-MM-DD")
    cal.add_argument("--model", default="industry", help="the model in models/ (default: industry)")
    cal.add_argument("--root", default=".", help="the project folder (default: the current one)")
    cal.set_defaults(func=_calibrate)
    bt = sub.add_parser("backtest", help="rolling-origin forecasts of every region-year, scored against "
                        "what happened")
    bt.add_argument("--years", type=bounds.YEAR.arg(), nargs=2, metavar=("FIRST", "LAST"), default=None,
                    help="the years forecast (default: 2015 to the latest with outcomes)")
    bt.add_argument("--vintage", nargs="+", choices=("year_start", "mid_year"),
                    default=["year_start", "mid_year"],
                    help="forecast origins: year_start (31 Dec before), mid_year (31 Jul)")
    bt.add_argument("--paths", type=bounds.PATHS.arg(), default=4_000, help="Monte Carlo paths per forecast")
    bt.add_argument("--seed", type=bounds.SEED.arg(), default=bounds.DEFAULT_SEED, help="random seed")
    bt.add_argument("--mixture", default=None, help="score also the weighted mixture of this scenario "
                    "file's scenarios")
    bt.add_argument("--chart", default=None, help="write the PIT histogram and the reliability diagram "
                    "to this PNG file")
    bt.add_argument("--root", default=".", help="the project folder (default: the current one)")
    bt.add_argument("--json", action="store_true", help="print JSON instead of tables")
    bt.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the chart")
    bt.set_defaults(func=_backtest)
    ex = sub.add_parser("extract", help="read the targets and actuals of a policy text")
    ex.add_argument("document", help="a policy text in UTF-8, e.g. ../shared/seeds/000_….txt")
    ex.add_argument("--json", action="store_true", help="print a JSON list of records")
    ex.add_argument("--date", type=iso_date, default=None,
                    help="the document's date YYYY-MM-DD, to resolve 今年, 明年, 去年")
    ex.add_argument("--region", help="with -o: the region, e.g. Jinan")
    ex.add_argument("--year", type=bounds.YEAR.arg(), help="with -o: the target year of the scenario file")
    ex.add_argument("-o", "--output", help="write a draft scenario file, e.g. scenarios/jinan-2025.yaml")
    ex.add_argument("--model", default="industry", help="with -o: the model in models/ (default: industry)")
    ex.add_argument("--force", action="store_true", help="with -o: overwrite an existing file")
    ex.set_defaults(func=_extract)
    return parser


def iso_date(text: str) -> dt.date:
    """An argparse type: a date YYYY-MM-DD, not before the first published figure sim knows of."""
    try:
        date = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None
    if date < dt.date.fromisoformat(bounds.FIRST_DATE):
        raise argparse.ArgumentTypeError(f"{text} is before {bounds.FIRST_DATE}: no figure in "
                                         "calibration/data was published then; choose a later date")
    return date


def _threads(text: str) -> int:
    from sim.api import cores

    return bounds.threads(cores()).arg()(text)


def _simulate(path: str, args: argparse.Namespace, keep: int = bounds.DEFAULT_KEEP) -> Results:
    """One run with the compile notice and a progress bar (shown only past a second, on a terminal)."""
    from tqdm import tqdm

    from sim import api, kernels

    if not kernels.compiled_on_disk():
        print("sim: compiling the simulation kernel (first run only, about 15 seconds; cached after)",
              file=sys.stderr)
    with tqdm(total=args.paths, unit="path", unit_scale=True, delay=1.0, leave=False, disable=None,
              desc=path, file=sys.stderr) as bar:
        return api.run(path, paths=args.paths, seed=args.seed, keep=keep, threads=args.threads,
                       as_of=args.as_of, antithetic=args.antithetic, progress=bar.update)


def _run(args: argparse.Namespace) -> int:
    outputs = []
    for path in args.scenario:
        try:
            results = _simulate(path, args, args.keep)
        except NothingToSimulateError as nothing:  # a valid file: say what it holds and why
            reasons = [{"target": s.target, "reason": s.reason} for s in nothing.skipped]
            outputs.append({"file": path, "results": [], "skipped": reasons} if args.json else
                           "\n".join([labels.TABLE[args.lang]["nothing"].format(path=path),
                                       labels.TABLE[args.lang]["skipped"],
                                       *(f"  {r['target']}: {r['reason']}" for r in reasons)]))
            continue
        outputs.append(json.loads(results.to_json()) if args.json else table(results, args.lang))
    if args.json:
        print(json.dumps(outputs[0] if len(outputs) == 1 else outputs, ensure_ascii=False, indent=1))
    else:
        print("\n\n".join(outputs))
    return 0


def _required(args: argparse.Namespace) -> int:
    from sim.analysis import required_growth

    df = required_growth(args.scenario, levels=tuple(args.levels), scenario=args.scenario_choice,
                         paths=args.paths, seed=args.seed, as_of=args.as_of, threads=args.threads)
    if args.json:
        print(df.to_json(orient="records", force_ascii=False, indent=1))
        return 0
    print(f"Required growth: {args.scenario} (shift of each target's lever from the file's year; "
          "growth: the median yearly change it implies in the target year)")
    print(_frame(df, {"probability_now": "{:.1%}", "level": "{:.0%}", "shift": "{:+.3g}",
                      "growth": "{:.2f}"}))
    return 0


def _sensitivity(args: argparse.Namespace) -> int:
    from sim.analysis import sensitivity

    if args.chart:
        check_place(args.chart, force=True)
    df = sensitivity(args.scenario, scenario=args.scenario_choice, paths=args.paths, seed=args.seed,
                     as_of=args.as_of, threads=args.threads)
    if args.json:
        print(df.to_json(orient="records", force_ascii=False, indent=1))
    else:
        print(f"Sensitivity: {args.scenario} (each assumption moved by its step, one at a time; "
              "sorted by swing)")
        shown = df.drop(columns=["process", "moved", "size", "unit"])  # the assumption's parts, for charts
        print(_frame(shown, {c: "{:.1%}" for c in ("p_low", "p_base", "p_high", "swing")}))
    if args.chart:
        from sim.charts import tornado_chart

        stem = args.chart.removesuffix(".png")
        for target in dict.fromkeys(df["target"]):
            _save(tornado_chart(df, target, lang=args.lang), f"{stem}-{target}.png")
    return 0


def _compare(args: argparse.Namespace) -> int:
    import pandas as pd

    if args.chart:
        check_place(args.chart, force=True)
    columns = {}
    runs = []
    for path in args.scenario:
        res = _simulate(path, args)
        runs.append(res)
        names = args.scenarios if len(args.scenario) == 1 and args.scenarios else (
            [str(s) for s in res.data["scenario"].values] if len(args.scenario) == 1
            else [str(res.data["scenario"].values[0])])
        for name in names:
            if name not in res.data["scenario"].values:
                raise SimError(f"no scenario {name!r}; scenarios: "
                               f"{', '.join(map(str, res.data['scenario'].values))}", file=path)
            p = res.data["probability"].sel(scenario=name)
            se = res.data["std_error"].sel(scenario=name)
            label = name if len(args.scenario) == 1 else f"{path}:{name}"
            columns[label] = {str(t): labels.probability(p.sel(target=t).item(), se.sel(target=t).item())
                              for t in res.data["target"].values}
    frame = pd.DataFrame(columns).fillna("—")
    print(frame.to_string())
    if args.chart:
        from sim.charts import compare_fans

        indicators = [str(i) for i in runs[0].data["indicator"].values]
        stem = args.chart.removesuffix(".png")
        for indicator in indicators:  # one chart per indicator of the first file
            compared = (runs if len(runs) > 1 else runs[0])
            figure = compare_fans(compared, indicator, scenarios=args.scenarios if len(runs) == 1 else None,
                                  lang=args.lang)
            _save(figure, args.chart if len(indicators) == 1 else f"{stem}-{indicator}.png")
    return 0


def _report(args: argparse.Namespace) -> int:
    from sim.analysis import required_growth, sensitivity
    from sim.report import write_report

    check_place(args.out, force=args.force)  # before the work, not after it
    res = _simulate(args.scenario, args)
    paths = min(args.paths, 100_000)
    required = required_growth(args.scenario, paths=paths, seed=args.seed, as_of=args.as_of)
    sens = sensitivity(args.scenario, paths=paths, seed=args.seed, as_of=args.as_of)
    try:  # the page's first chart; a file whose year has too long a track still gets its report
        track: Track | str = _tracked(args.scenario, args, None, args.as_of,
                                      min(args.paths, bounds.TRACK_PATHS))
    except SimError as err:
        track = err.message
    out = write_report(res, args.out, lang=args.lang, force=args.force, required=required,
                       sensitivity=sens, track=track, observations=res.observations)
    print(f"report written to {out}", flush=True)  # said at once: a kill during shutdown must not eat it
    return 0


def _track(args: argparse.Namespace) -> int:
    if args.chart:
        check_place(args.chart, force=True)
    result = _tracked(args.scenario, args, args.start, args.end, args.paths)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=1))
    else:
        print(result.text(args.lang))
    if args.chart:
        from sim.charts import track_chart

        _save(track_chart(result, lang=args.lang), args.chart)
    return 0


def _tracked(path: str, args: argparse.Namespace, start: dt.date | None, end: dt.date | None,
             paths: int) -> Track:
    """``sim.track.track`` with a progress bar over the dates (shown only on a terminal)."""
    from tqdm import tqdm

    from sim import kernels
    from sim.track import track

    if not kernels.compiled_on_disk():
        print("sim: compiling the simulation kernel (first run only, about 15 seconds; cached after)",
              file=sys.stderr)
    with tqdm(unit="date", delay=1.0, leave=False, disable=None, desc=f"{path} through the year",
              file=sys.stderr) as bar:
        return track(path, start=start, end=end, paths=paths, seed=args.seed, threads=args.threads,
                     progress=lambda date, new: bar.update(1))


def _sweep(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sim.sweep import sweep

    if args.out:
        check_place(args.out, force=True)
    n = len(args.scenario) * len(args.shift) * len(args.vol)
    with tqdm(total=n, unit="case", delay=1.0, leave=False, disable=None, file=sys.stderr) as bar:
        ds = sweep(args.scenario, shifts=args.shift, vols=args.vol, processes=args.process,
                   paths=args.paths, seed=args.seed, scheduler=args.scheduler, workers=args.workers,
                   as_of=args.as_of, local=args.local, progress=bar.update)
    failed = [(f, s, v, e) for f in ds["file"].values for s in ds["shift"].values for v in ds["vol"].values
              if (e := str(ds["error"].sel(file=f, shift=s, vol=v).item()))]
    for f, s, v, e in failed:
        print(f"sim: case {f} shift {s:g} vol {v:g} failed: {e}", file=sys.stderr)
    if args.out:
        from sim.output import write_dataset

        write_dataset(ds, args.out)
        print(f"sweep written to {args.out}")
    else:
        frame = ds["probability"].to_dataframe().dropna().unstack("scenario")
        print(frame.to_string(float_format=lambda v: f"{v:.3f}"))
    return 1 if failed else 0


def _save(figure: object, path: str) -> None:
    from sim.output import write_figure

    write_figure(figure, path)
    print(f"chart written to {path}", file=sys.stderr)  # stdout stays the table or the JSON


def _frame(df: pd.DataFrame, formats: dict[str, str]) -> str:
    import pandas as pd

    shown = df.copy()
    for col, fmt in formats.items():
        if col in shown:
            shown[col] = [("—" if pd.isna(v) else fmt.format(v)) for v in shown[col]]
    return shown.to_string(index=False)


def _extract(args: argparse.Namespace) -> int:
    from sim.extract import run_extract

    return run_extract(args)


def _calibrate(args: argparse.Namespace) -> int:
    from sim.calibrate import calibrate  # statsmodels loads slowly: only when asked

    docs = calibrate(args.root, args.region, model_name=args.model, as_of=args.as_of)
    for region, doc in docs.items():
        print(f"{region}: calibration/params/{region.lower()}.yaml")
        for name, p in doc["processes"].items():
            extra = (f"  shrinkage {p['shrinkage']:.2f}" if "shrinkage" in p else "") + (
                f"  borrowed: {', '.join(p['borrowed'])}" if p.get("borrowed") else "")
            df = f"  t df {p['df']['value']:.3g}" if "df" in p else ""
            print(f"  {name:31s} mean {p['mean']['value']:8.3g} ± {p['mean']['std_error']:<7.2g} "
                  f"phi {p['phi']['value']:6.2f} ± {p['phi']['std_error']:<5.2f} "
                  f"sigma {p['sigma']['value']:6.3g}{df}{extra}")
        if doc["note"]:
            print(f"  {doc['note']}")
    return 0


def _backtest(args: argparse.Namespace) -> int:
    from sim.backtest import backtest

    if args.chart:
        check_place(args.chart, force=True)
    mixture = None
    if args.mixture:
        from sim.spec import ScenarioFile

        spec = ScenarioFile.load(args.mixture)
        mixture = {name: s.model_dump(mode="json", by_alias=True, exclude_defaults=True)
                   for name, s in spec.scenarios.items()}
    bt = backtest(args.root, years=tuple(args.years) if args.years else None, vintages=tuple(args.vintage),
                  paths=args.paths, seed=args.seed, mixture=mixture,
                  progress=lambda m: print(f"sim backtest: {m}", file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps({"growth": bt.growth.to_dict("records"), "targets": bt.targets.to_dict("records"),
                          "scores": bt.scores.reset_index().to_dict("records"),
                          "tests": bt.tests.to_dict("records"),
                          "by_year": bt.by_year.reset_index().to_dict("records"),
                          "pit": bt.pit.reset_index().to_dict("records"),
                          "by_evidence": bt.by_evidence.reset_index().to_dict("records"),
                          "reference": bt.reference.reset_index().to_dict("records"),
                          "warnings": bt.warnings},
                         ensure_ascii=False, indent=1, default=str))
    else:
        print(bt.summary())
    if args.chart:
        from sim.charts import backtest_chart

        _save(backtest_chart(bt.pit, bt.reliability, lang=args.lang), args.chart)
    return 0


def table(results: Results, lang: str = "en") -> str:
    """The probability table a planner reads: one row per target, one column per scenario."""
    from sim.results import ALL, WEIGHTED

    text = labels.TABLE[lang]
    d = results.data
    scenarios = [str(s) for s in d["scenario"].values]
    header = [text["target"], text["other_name"], text["evidence"], text["last"],
              text["median"].format(year=d.attrs["target_year"]),
              *[f"P({labels.scenario(s, lang)})" for s in scenarios]]
    rows = []
    for target in d["target"].values:
        t = d.sel(target=target)
        grade = str(t["evidence"].item())
        if target == ALL or grade == "D":
            last, spread = "", ""
        else:
            unit = labels.measure_unit(str(t["measure"].item()), str(t["unit"].item()))
            last_value = t["last_value"].item()
            last = (f"{labels.value(last_value, unit, lang)} ({int(t['last_year'].item())})"
                    if last_value == last_value else "—")
            q = t["measure_quantile"].sel(scenario=WEIGHTED)
            spread = labels.interval(*(q.sel(quantile=x).item() for x in (0.5, 0.1, 0.9)), unit, lang)
        probs = [labels.probability(t["probability"].sel(scenario=s).item(),
                                    t["posterior_sd"].item() if grade == "D"
                                    else t["std_error"].sel(scenario=s).item())
                 for s in scenarios]
        zh, en = str(t["name_zh"].item()), str(t["name_en"].item())
        rows.append([en, zh, grade, last, spread, *probs] if lang == "en"
                    else [zh, en, grade, last, spread, *probs])
    a = d.attrs
    lines = [text["run"].format(region=labels.region(a["region"], lang), year=a["target_year"],
                                file=a["scenario_file"], paths=a["paths"], seed=a["seed"])
             + (text["as_of"].format(as_of=a["as_of"]) if a["as_of"] else ""),
             *labels.grid([header, *rows]), text["legend"],
             f"{text['grades']} {labels.grade_legend(lang)}"]
    if results.notes:
        lines.append(text["notes"])
        lines += [f"  {labels.note(note, lang)}" for note in results.notes]
    if results.skipped:
        lines.append(text["skipped"])
        lines += [f"  {s.target}: {s.reason}" for s in results.skipped]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
