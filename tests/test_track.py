"""sim track: the probability at each month-end is sim run --as-of that date, computed once per vintage."""

import datetime as dt
import json
import shutil

import pytest

import sim
from sim import api, track
from sim.cli import main
from tests.conftest import FIXTURE, ROOT

# Figures on Testland published through 2023: the 2021 level (before the year), the 2022 level in
# February, a first-quarter figure in April; nothing in March. The parameters were fitted on the data of
# 2022, so every date in 2023 runs on them (no refit) and the data alone tell the dates apart.
DATA = """\
Testland,level,2021,1-12,104,亿元,,2022-01-20,test fixture,水平104亿元,
Testland,level,2022,1-12,109,亿元,,2023-02-15,test fixture,水平109亿元,
Testland,level,2023,1-3,27,亿元,,2023-04-10,test fixture,一季度水平27亿元,
"""
EVENTS = """\
  events:
    name_zh: 开展活动20场
    name_en: 20 events held
    year: 2023
    comparator: ">="
    value: 20
    unit: 场
    class: event
    clause: 开展活动20场
    source: test
"""
PATHS = 4000


def make_tracked_project(folder):
    """A copy of the fixture project with figures published through 2023 and a grade-D target;
    returns its scenario file."""
    dest = folder / "project"
    shutil.copytree(FIXTURE, dest)
    params = dest / "calibration" / "params" / "testland.yaml"
    params.write_text(params.read_text(encoding="utf-8").replace("as_of: 2021-01-20", "as_of: 2022-12-31"),
                      encoding="utf-8")
    with (dest / "calibration" / "data" / "testland.csv").open("a", encoding="utf-8") as f:
        f.write(DATA)
    (dest / "calibration" / "ledger").mkdir()
    shutil.copy(ROOT / "calibration" / "ledger" / "outcomes.csv", dest / "calibration" / "ledger")
    path = dest / "scenarios" / "testland-2023.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("scenarios:\n", EVENTS + "scenarios:\n"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tracked_project(tmp_path_factory):
    return make_tracked_project(tmp_path_factory.mktemp("track"))


@pytest.fixture(scope="module")
def result(tracked_project):
    return track.track(tracked_project, paths=PATHS, seed=11)


def test_month_ends():
    dates = track.month_ends(dt.date(2023, 11, 15), dt.date(2024, 2, 1))
    assert dates == [dt.date(2023, 11, 30), dt.date(2023, 12, 31), dt.date(2024, 1, 31), dt.date(2024, 2, 29)]
    assert all((d + dt.timedelta(days=1)).day == 1 for d in dates)


def test_dates_run_from_the_year_start_to_the_last_publication(result):
    assert result.dates == [dt.date(2023, 1, 31), dt.date(2023, 2, 28), dt.date(2023, 3, 31),
                            dt.date(2023, 4, 30)]
    assert all((d + dt.timedelta(days=1)).day == 1 for d in result.dates)
    assert set(result.table["target"]) == {"level_high", "rate_low"}
    assert result.left_out == ["events"]  # a class rate: the same at every date


def test_each_date_is_sim_run_as_of_that_date(result, tracked_project):
    for date in (dt.date(2023, 1, 31), dt.date(2023, 3, 31)):
        run = sim.run(tracked_project, paths=PATHS, seed=11, as_of=date)
        rows = result.table[result.table["as_of"] == date].set_index("target")
        for target in ("level_high", "rate_low"):
            expected = run.data["probability"].sel(scenario="weighted", target=target).item()
            assert rows.loc[target, "probability"] == expected
    # the 2022 level came in February and moved the level target
    jan, feb = (result.table[(result.table["as_of"] == d) & (result.table["target"] == "level_high")]
                ["probability"].item() for d in result.dates[:2])
    assert jan != feb


def test_an_unchanged_vintage_reuses_the_month_before(tracked_project, monkeypatch):
    calls = []
    real = api.run

    def counting(*args, **kwargs):
        calls.append(kwargs["as_of"])
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "run", counting)
    result = track.track(tracked_project, paths=PATHS, seed=11)
    assert calls == [dt.date(2023, 1, 31), dt.date(2023, 2, 28), dt.date(2023, 4, 30)]  # not March
    new = result.table.drop_duplicates("as_of").set_index("as_of")["new_data"]
    assert new.tolist() == [True, True, False, True]
    by_date = result.table.pivot(index="as_of", columns="target", values="probability")
    assert (by_date.loc[dt.date(2023, 3, 31)] == by_date.loc[dt.date(2023, 2, 28)]).all()


def test_cli_table_chart_and_json(tracked_project, tmp_path, capsys):
    chart = tmp_path / "track.png"
    assert main(["track", str(tracked_project), "--paths", str(PATHS), "--chart", str(chart),
                 "--from", "2023-02-01", "--to", "2023-03-15"]) == 0
    out = capsys.readouterr().out
    assert "2023-02-28" in out and "2023-03-31" in out and "2023-01-31" not in out
    assert "as the month before" in out and "events" in out
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["track", str(tracked_project), "--paths", str(PATHS), "--json", "--lang", "zh"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["run"]["dates"][0] == "2023-01-31" and doc["left_out"] == ["events"]
    assert {r["target"] for r in doc["results"]} == {"level_high", "rate_low"}
    assert all(0 <= r["probability"] <= 1 for r in doc["results"])


@pytest.mark.parametrize("args, message", [
    (["--from", "2023-13-01"], "not a date"),
    (["--to", "yesterday"], "not a date"),
    (["--from", "2023-05-01", "--to", "2023-02-01"], "before --from"),
    (["--from", "2019-01-01", "--to", "2023-04-30"], "at most 36"),
    (["--paths", "0"], "--paths"),
])
def test_bad_dates_are_one_line_errors(tracked_project, capsys, args, message):
    assert main(["track", str(tracked_project), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sim: error:") and message in err and err.count("\n") == 1
