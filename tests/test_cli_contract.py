"""The command line as a user touches it: `sim --help`, every command's help, and every documented
option of every command run at least once, so that a broken command or flag cannot pass CI."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim import cli
from tests.conftest import FIXTURE, ROOT

SCEN = "scenarios/testland-2023.yaml"
FAST = ["--paths", "2000", "--seed", "3"]
DOCUMENT = ("2023年，全市规模以上工业增加值增长6.5%左右，规模以上工业营业收入突破1万亿元。"
            "1—6月，规模以上工业增加值增长5.2%。")
PNG = b"\x89PNG\r\n\x1a\n"

# (the project it runs in: fixture or shipped, argv, the files it must write)
INVOCATIONS = [
    ("fixture", ["run", SCEN, *FAST, "--threads", "1", "--lang", "zh", "--keep", "500", "--antithetic"], []),
    ("fixture", ["run", SCEN, SCEN, *FAST, "--json"], []),
    ("shipped", ["run", "scenarios/jinan-2025.yaml", *FAST, "--as-of", "2025-07-31"], []),
    ("fixture", ["required", SCEN, *FAST, "--levels", "0.5", "0.8", "--scenario", "shifted", "--json"], []),
    ("fixture", ["required", SCEN, *FAST, "--lang", "zh", "--threads", "1", "--as-of", "2022-06-30"], []),
    ("fixture", ["sensitivity", SCEN, *FAST, "--scenario", "shifted", "--chart", "t.png", "--json"],
     ["t-level_high.png", "t-rate_low.png"]),
    ("fixture", ["sensitivity", SCEN, *FAST, "--chart", "t.png", "--lang", "zh", "--threads", "1",
                 "--as-of", "2022-06-30"],
     ["t-level_high.png"]),
    ("fixture", ["compare", SCEN, *FAST, "--scenarios", "base", "shifted", "--chart", "fan.png"],
     ["fan-level.png", "fan-rate.png"]),
    ("fixture", ["compare", SCEN, SCEN, *FAST, "--chart", "two.png", "--lang", "zh", "--antithetic",
                 "--threads", "1", "--as-of", "2022-06-30"], ["two-level.png"]),
    ("fixture", ["report", SCEN, *FAST, "-o", "rep", "--lang", "zh", "--antithetic", "--threads", "1"],
     ["rep/index.html"]),
    ("fixture", ["report", SCEN, *FAST, "--out", "rep", "--force", "--as-of", "2022-06-30"], ["rep/index.html"]),
    ("fixture", ["sweep", SCEN, "--local", "--paths", "1000", "--seed", "3", "--shift", "0", "0.01",
                 "--vol", "1", "2", "--process", "g", "-o", "sweep.nc"], ["sweep.nc"]),
    ("fixture", ["sweep", SCEN, "--workers", "1", "--paths", "1000", "--process", "g", "--out", "sweep.zarr"], ["sweep.zarr"]),
    ("fixture", ["sweep", SCEN, "--scheduler", "{scheduler}", "--paths", "1000", "--process", "g",
                 "--as-of", "2022-06-30"], []),
    ("fixture", ["track", SCEN, "--from", "2023-01-31", "--to", "2023-03-31", *FAST, "--threads", "1",
                 "--chart", "track.png", "--lang", "zh"], ["track.png"]),
    ("fixture", ["track", SCEN, "--paths", "1000", "--json"], []),
    ("fixture", ["calibrate", "--model", "ar1", "--root", ".", "--region", "Testland",
                 "--as-of", "2023-01-01"], None),  # too little data: a clean exit 2, nothing written
    ("shipped", ["calibrate", "--region", "Jinan", "--as-of", "2025-07-31", "--root", "."],
     ["calibration/params/jinan.yaml"]),
    ("fixture", ["extract", "doc.txt"], []),
    ("fixture", ["extract", "doc.txt", "--json", "--date", "2023-02-01"], []),
    ("shipped", ["extract", "doc.txt", "--date", "2023-02-01", "--region", "Jinan", "--year", "2023",
                 "-o", "scenarios/draft.yaml", "--model", "industry", "--force"], ["scenarios/draft.yaml"]),
    ("shipped", ["backtest", "--years", "2024", "2024", "--vintage", "mid_year", "--paths", "200",
                 "--seed", "1", "--mixture", "scenarios/jinan-2025.yaml", "--chart", "bt.png", "--json",
                 "--lang", "zh", "--root", "."], ["bt.png"]),
]


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> Path:
    """A copy of the shipped project, so that commands writing into it leave the checkout alone."""
    dest = tmp_path_factory.mktemp("shipped")
    for part in ("models", "scenarios", "calibration"):
        shutil.copytree(ROOT / part, dest / part)
    return dest


@pytest.fixture(scope="module")
def scheduler():
    """A cluster of one in-process worker, for --scheduler."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def _subcommands() -> dict[str, object]:
    action = next(a for a in cli._parser()._actions if a.__class__.__name__ == "_SubParsersAction")
    return dict(action.choices)


def test_sim_help_works_as_installed_and_as_a_module():
    script = Path(sys.executable).with_name("sim")
    for argv in ([str(script), "--help"], [sys.executable, "-m", "sim.cli", "--help"]):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        assert all(name in done.stdout for name in _subcommands())


@pytest.mark.parametrize("command", sorted(_subcommands()))
def test_every_command_has_a_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main([command, "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: sim {command}")
    for action in _subcommands()[command]._actions:
        assert all(option in out for option in action.option_strings)


def test_every_option_of_every_command_is_exercised():
    """The table above is the contract: a new option without an invocation fails here."""
    used: dict[str, set[str]] = {}
    for _, argv, _ in INVOCATIONS:
        used.setdefault(argv[0], set()).update(a for a in argv if a.startswith("-"))
    missing = []
    for name, parser in _subcommands().items():
        for action in parser._actions:
            options = set(action.option_strings) - {"-h", "--help"}
            if options and not options & used.get(name, set()):
                missing.append(f"{name} {'/'.join(sorted(options))}")
    assert missing == []


@pytest.mark.parametrize(("where", "argv", "writes"), INVOCATIONS, ids=lambda v: " ".join(v)[:70]
                         if isinstance(v, list) else None)
def test_every_invocation(where, argv, writes, tmp_path, shipped, monkeypatch, capsys, request):
    if "{scheduler}" in argv:
        argv = [a.replace("{scheduler}", request.getfixturevalue("scheduler")) for a in argv]
    if where == "fixture":
        home = tmp_path / "project"
        shutil.copytree(FIXTURE, home)
    else:
        home = shipped
    (home / "doc.txt").write_text(DOCUMENT, encoding="utf-8")
    monkeypatch.chdir(home)
    before = {p for p in home.rglob("*")}
    code = cli.main(argv)
    out, err = capsys.readouterr()
    if writes is None:  # a refusal: one line, nothing written
        assert code == 2 and err.startswith("sim: error: ") and err.count("\n") == 1, err
        assert {p for p in home.rglob("*")} == before
        return
    assert code == 0, err
    assert "Traceback" not in err and "internal error" not in err
    for name in writes:
        path = home / name
        assert path.exists(), name
        if name.endswith(".png"):
            assert path.read_bytes()[:8] == PNG
    if "--json" in argv:
        json.loads(out)
    if argv[0] == "run" and "--json" not in argv:
        assert ("P(加权)" if "zh" in argv else "P(weighted)") in out, out
