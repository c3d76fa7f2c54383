"""Hostile input and a hostile machine: every class of mistake ends in exit 2 with one line naming
the file, line and key (or the option) and the allowed range; nothing is half-written; nothing hangs."""

import errno
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

import sim
from sim import api, bounds
from sim.cli import main
from tests.conftest import ROOT

SCEN = "scenarios/testland-2023.yaml"


def _fails(argv, capsys, *expected):
    """``sim argv`` exits 2 with one line that says each of ``expected``."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("sim: error: "), err
    for part in expected:
        assert part in err, err
    return err


@pytest.mark.parametrize(("argv", "expected"), [
    (["run", "{s}", "--paths", "0"], "--paths: must be a whole number from 1 to 1,000,000,000, got 0"),
    (["run", "{s}", "--paths", "100000000000"], "from 1 to 1,000,000,000"),
    (["run", "{s}", "--paths", "1e6"], "must be a whole number"),
    (["run", "{s}", "--keep", "-5"], "--keep: must be a whole number from 1 to"),
    (["run", "{s}", "--seed", "-1"], "--seed: must be a whole number from 0 to"),
    (["run", "{s}", "--threads", "0"], "--threads: must be a whole number from 1 to"),
    (["run", "{s}", "--as-of", "1900-01-01"], "1900-01-01 is before 2000-01-01"),
    (["required", "{s}", "--levels", "1.5"], "--levels: must be a number above 0 and below 1, got 1.5"),
    (["required", "{s}", "--levels", "nan"], "got nan"),
    (["required", "{s}", "--levels", "0"], "above 0"),
    (["sweep", "{s}", "--local", "--vol", "0"], "--vol: must be a number above 0 and at most 10"),
    (["sweep", "{s}", "--local", "--vol", "-1"], "--vol"),
    (["sweep", "{s}", "--local", "--shift", "-500"], "--shift: must be a number from -50 to 50"),
    (["sweep", "{s}", "--local", "--process", "g", "--shift", "2"], "--shift of g (in log) must be a number from -1 to 1"),
    (["sweep", "{s}", "--local", "--process", "nope"], "--process 'nope' is not a process of model"),
    (["sweep", "{s}", "--local", "--paths", "0"], "--paths"),
    (["sweep", "{s}", "--local", "--vol", "1", "1"], "--vol repeats a value"),
    (["sweep", "{s}", "--local", "--shift", *[str(x / 100) for x in range(80)], "--vol",
      *[str(x / 10) for x in range(1, 80)]], "more than the 5,000 of a sweep"),
    (["sweep", "{s}", "--workers", "0"], "--workers"),
    (["sweep", "{s}", "{s}", "--local", "--process", "g"], "a scenario file is given twice"),
    (["calibrate", "--model", "ar1", "--root", "{p}"], "too few to fit any process of model 'ar1'"),
    (["backtest", "--years", "99999", "99999"], "--years: must be a whole number from 2000 to 2060"),
    (["extract", "{s}", "--year", "1949"], "--year"),
    (["run"], "the following arguments are required: scenario"),
    (["run", "{s}", "--bogus"], "unrecognized arguments: --bogus"),
    (["bogus"], "invalid choice: 'bogus'"),
    ([], "the following arguments are required: COMMAND"),
])
def test_every_option_is_bounded_on_one_line(project, capsys, argv, expected):
    _fails([a.format(s=project / SCEN, p=project) for a in argv], capsys, expected)


def test_the_api_checks_the_same_bounds(project):
    for kwargs, expected in (({"paths": 0}, "--paths must be a whole number from 1"),
                             ({"seed": -1}, "--seed must be"), ({"keep": -5}, "--keep must be"),
                             ({"threads": 10_000}, "--threads must be")):
        with pytest.raises(sim.SimError, match=expected):
            api.run(project / SCEN, **kwargs)
    assert bounds.PATHS.problem(10**9) is None and bounds.PATHS.problem(10**9 + 1)


def _edit(project, change) -> str:
    path = project / SCEN
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d["targets"]["level_high"].update(value=True), "targets.level_high.value: Input should be a valid"),
    (lambda d: d["targets"]["level_high"].update(value="112"), "targets.level_high.value"),
    (lambda d: d.update(year=1949), "year: Input should be greater than or equal to 2000"),
    (lambda d: d["targets"]["level_high"].update(year=2200), "targets.level_high.year"),
    (lambda d: d["scenarios"]["shifted"].update(shift={"g": -1e300}),
     "scenarios.shifted.shift.g: a shift (log points) must be a number from -1 to 1"),
    (lambda d: d["scenarios"]["shifted"].update(shift={"g": float("nan")}), "scenarios.shifted.shift.g"),
    (lambda d: d["scenarios"]["shifted"].update(volatility={"g": 0}), "scenarios.shifted.volatility.g"),
    (lambda d: d["scenarios"]["shifted"].update(volatility={"g": 1e6}), "scenarios.shifted.volatility.g"),
    (lambda d: d["scenarios"]["shifted"].update(weight=True), "scenarios.shifted.weight"),
])
def test_nonsense_in_a_scenario_file_is_refused(project, capsys, change, expected):
    _fails(["run", _edit(project, change), "--paths", "100"], capsys, expected, "testland-2023.yaml:")


def test_an_extreme_parameter_draw_stays_finite(project):
    """An allowed but absurd volatility of a log process (shocks of e^±hundreds) compounds a level to
    the bounds of a float: the run ends with probabilities, not with a non-finite error."""
    path = _edit(project, lambda d: d["scenarios"]["shifted"].update(
        override={"g": {"sigma": 300.0}}, volatility={"g": 10.0}))
    res = sim.run(path, paths=4_000, seed=3)
    p = res.data["probability"].sel(scenario="shifted")
    assert ((p >= 0) & (p <= 1)).all()
    assert 0.3 < float(p.sel(target="level_high")) < 0.7  # a coin flip: up or down by astronomical factors


def test_a_future_publication_date_in_the_data_is_refused(project, capsys):
    data = project / "calibration/data/testland.csv"
    data.write_text(data.read_text(encoding="utf-8").replace("2021-01-20", "2099-01-20"), encoding="utf-8")
    _fails(["run", project / SCEN], capsys, "2099-01-20 is in the future", "testland.csv:2")


@pytest.mark.parametrize("kind", ["folder", "fifo", "utf16", "merge"])
def test_files_that_are_not_scenario_files(project, capsys, kind):
    path = project / "scenarios" / "odd.yaml"
    if kind == "folder":
        path.mkdir()
        expected = "odd.yaml: is a folder"
    elif kind == "fifo":
        os.mkfifo(path)  # reading it would block for ever
        expected = "odd.yaml: is not a regular file"
    elif kind == "utf16":
        path.write_bytes((project / SCEN).read_text(encoding="utf-8").encode("utf-16"))
        expected = "odd.yaml: is UTF-16 or UTF-32 text; save it as UTF-8"
    else:
        path.write_text("base: &b {weight: 1}\nscenarios:\n  x:\n    <<: {weight: 1}\n", encoding="utf-8")
        expected = "odd.yaml:4: merge keys (<<) are not allowed"
    _fails(["run", path, "--paths", "100"], capsys, expected)


def test_outputs_that_cannot_be_written_are_refused_before_the_work(project, tmp_path, capsys):
    a_file = tmp_path / "plain.txt"
    a_file.write_text("x")
    start = time.perf_counter()
    _fails(["report", project / SCEN, "-o", a_file / "out", "--paths", "200000"], capsys,
           "plain.txt is a file, not a folder")
    _fails(["sensitivity", project / SCEN, "--chart", tmp_path / "no" / "t.png"], capsys, "no folder")
    _fails(["compare", project / SCEN, "--chart", a_file / "fan.png"], capsys, "is a file, not a folder")
    assert time.perf_counter() - start < 30  # refused before simulating 200,000 paths
    if os.path.isdir("/proc/self"):
        _fails(["report", project / SCEN, "-o", "/proc/sim-report", "--paths", "100"], capsys, "/proc/sim-report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.txt", "project"]


@pytest.mark.parametrize("command", ["report", "calibrate", "sensitivity"])
def test_a_full_disk_is_one_line_and_leaves_nothing(project, tmp_path, capsys, monkeypatch, command):
    from types import SimpleNamespace

    from sim import output

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(output, "os", SimpleNamespace(**{**vars(os), "replace": full}))
    argv = {"report": ["report", project / SCEN, "-o", tmp_path / "out", "--paths", "500"],
            "calibrate": ["calibrate", "--root", project, "--model", "ar1"],
            "sensitivity": ["sensitivity", project / SCEN, "--paths", "500", "--chart", tmp_path / "t.png"]}
    if command == "calibrate":  # enough years to fit g, so that the write is reached
        with (project / "calibration/data/testland.csv").open("a", encoding="utf-8") as fh:
            fh.writelines(f"Testland,rate,{year},1-12,{4 + year % 3},%,,2021-01-20,test fixture,速度,\n"
                          for year in range(2012, 2021))
    before = sorted(p.name for p in (project / "calibration/params").iterdir())
    _fails(argv[command], capsys, "No space left on device")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]
    assert sorted(p.name for p in (project / "calibration/params").iterdir()) == before


def test_a_dead_run_s_temporaries_are_cleaned_and_a_live_one_s_kept(project, tmp_path):
    out = tmp_path / "out"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = tmp_path / f".out.{dead}.0123abcd.tmp"
    stale.mkdir()
    (stale / "index.html").write_text("half")
    live = tmp_path / f".out.{os.getppid()}.4567abcd.tmp"
    live.mkdir()
    assert main(["report", str(project / SCEN), "-o", str(out), "--paths", "500"]) == 0
    assert not stale.exists() and live.exists() and (out / "index.html").is_file()


def test_sigterm_while_importing_ends_with_a_message(project):
    """The handler is installed before numpy, pandas and numba load (about a second)."""
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", str(project / SCEN), "--paths", "1000"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.25)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip() == "sim: interrupted; no output was written"


def test_an_unreachable_scheduler_is_refused_within_its_timeout(project, capsys):
    pytest.importorskip("dask.distributed")
    start = time.perf_counter()
    _fails(["sweep", project / SCEN, "--process", "g", "--scheduler", "tcp://127.0.0.1:9", "--paths", "100"], capsys,
           "cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert time.perf_counter() - start < 25


def test_a_date_with_too_little_data_to_fit_says_so(project, capsys):
    params = project / "calibration/params/testland.yaml"  # undated: any --as-of refits
    params.write_text("".join(line for line in params.read_text().splitlines(keepends=True)
                              if not line.startswith("as_of:")))
    _fails(["run", project / SCEN, "--as-of", "2022-12-31"], capsys,
           "the data published by 2022-12-31 are too few to fit any process", "choose a later --as-of date")
    _fails(["run", project / SCEN, "--as-of", "2021-01-19"], capsys,
           "no observation in calibration/data was published by 2021-01-19")
