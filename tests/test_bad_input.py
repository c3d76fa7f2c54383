"""Every kind of broken input gets one line naming file, line and key, and what to do."""

import re

import pytest

import sim
from sim.cli import main

SCEN = "scenarios/testland-2023.yaml"
PARAMS = "calibration/params/testland.yaml"
MODEL = "models/ar1.yaml"
DATA = "calibration/data/testland.csv"

# (file, old text, new text, expected message: regex matched against the whole error line)
CASES = [
    (SCEN, "targets:", "tragets:", r"testland-2023\.yaml:4: tragets: unknown key; did you mean 'targets'\?; allowed here: region, year, "
     r"model, params, title, targets, scenarios"),
    (SCEN, 'comparator: ">="', 'comparator: "=>"', r"testland-2023\.yaml:10: targets\.level_high\.comparator: "
     r"Input should be '>=', '>', '<=', '<' or 'about' \(got '=>'\)"),
    (SCEN, "weight: 0.5\n  shifted", "weight: 0.4\n  shifted", r"testland-2023\.yaml:\d+: scenarios: the "
     r"scenario weights add up to 0\.9; make them add up to 1"),
    (SCEN, "indicator: level\n", "indicator: levl\n", r"testland-2023\.yaml:8: targets\.level_high\.indicator: "
     r"the model 'ar1' has no indicator 'levl'; it has: level, rate"),
    (SCEN, "unit: 亿元", "unit: 家", r"testland-2023\.yaml:12: targets\.level_high\.unit: level of level is "
     r"measured in money, not '家'"),
    (SCEN, "unit: 亿元", "unit: 亿美元", r"targets\.level_high: unknown unit '亿美元'; known: "),
    (SCEN, "    source: test\n  rate_low", "    source: test\n    source: again\n  rate_low",
     r"testland-2023\.yaml:15: targets\.level_high\.source: duplicate key \(first at line 14\); keep one"),
    (SCEN, "    clause: 水平达到112亿元\n", "", r"testland-2023\.yaml:5: targets\.level_high\.clause: required key is missing"),
    (SCEN, "shift: {g: 0.01}", "shift: {h: 0.01}", r"testland-2023\.yaml:\d+: scenarios\.shifted\.shift\.h: no "
     r"process 'h' in model 'ar1'; processes: g"),
    (SCEN, "volatility: {g: 2.0}", "volatility: {g: -2.0}", r"scenarios\.shifted\.volatility\.g: Input should "
     r"be greater than 0"),
    (SCEN, "year: 2023\nmodel", "year: twenty\nmodel", r"testland-2023\.yaml:2: year: Input should be a valid "
     r"integer.*\(got 'twenty'\)"),
    (SCEN, "model: ar1", "model: nomodel", r"testland-2023\.yaml:3: model: no file nomodel\.yaml in .*models; "
     r"available: ar1"),
    (SCEN, "model: ar1", "model: ../../etc/passwd", r"model: no file \.\./\.\./etc/passwd\.yaml"),
    (SCEN, "  base:\n    weight: 0.5", "  base:\n    weight: 0.5\n  again: *x", r"YAML aliases \(\*name\) are "
     r"not allowed"),
    (SCEN, "targets:", "targets: [", r"testland-2023\.yaml:\d+: not valid YAML"),
    (PARAMS, "value: 0.6", "value: 1.2", r"testland\.yaml:\d+: processes\.g: phi must lie strictly between -1 and 1"),
    (PARAMS, "value: 0.02", "value: -0.02", r"processes\.g: sigma must be positive; got -0\.02"),
    (PARAMS, "value: 1.0e9", "value: 2", r"shocks\.df: df must exceed 2"),
    (PARAMS, "value: 1.0e9", "value: .nan", r"shocks\.df\.value: Input should be a finite number"),
    (PARAMS, "{value: 0.05, source: test value}", "{value: 0.05, source: ''}", r"processes\.g\.mean\.source: String should "
     r"have at least 1 character"),
    (PARAMS, "model: ar1", "model: other", r"testland\.yaml:2: model: was fitted for model 'other'"),
    (MODEL, "drivers: {g: 1}\n  rate", "drivers: {h: 1}\n  rate", r"ar1\.yaml:\d+: indicators\.level\.drivers\.h: "
     r"no process named 'h'; processes: g"),
    (MODEL, "kind: level", "kind: stock", r"indicators\.level\.kind: unknown kind 'stock'; kinds: rate, level"),
    (DATA, ",亿元,,2021", ",亿美元,,2021", r"testland\.csv:2: unit: unknown unit '亿美元'"),
    (DATA, "2020,1-12,100", "2020,1-13,100", r"testland\.csv:2: months: '1-13' is not a month span"),
    (DATA, "2020,1-12,100", "2020,1-12,abc", r"testland\.csv:2: value: 'abc' is not a number"),
    (DATA, "2020,1-12,100", "2020,1-12,-100", r"testland\.csv:2: value: a money cannot be negative"),
    (DATA, "2021-01-20", "2019-01-20", r"testland\.csv:2: published: 2019-01-20 is before the period"),
    (DATA, ",test fixture,水平", ",,水平", r"testland\.csv:2: source: is empty"),
    (DATA, "region,indicator", "regio,indicator", r"testland\.csv:1: the header must be"),
    # found by tests/test_fuzz.py: each was a traceback, a message on two lines, or a silent acceptance
    (SCEN, "region: Testland", "region: Test\x07land", r"testland-2023\.yaml:1: not valid YAML: the non-printable "
     r"character U\+0007 is not allowed; delete it"),
    (SCEN, "value: 112", "value: !foo 112", r"testland-2023\.yaml:11: not valid YAML: could not determine a "
     r"constructor for the tag '!foo'; quote it if it is text"),
    (SCEN, 'comparator: ">="', "comparator: !!bool maybe", r"testland-2023\.yaml:10: not valid YAML: cannot read "
     r"'maybe' as bool"),
    (SCEN, "year: 2023\nmodel", "year: 2023-02-30\nmodel", r"testland-2023\.yaml:2: not valid YAML: cannot read "
     r"'2023-02-30' as timestamp; quote it if it is text"),
    (PARAMS, "value: 1.0e9", "value: " + "9" * 5000, r"testland\.yaml:\d+: not valid YAML: cannot read '9+…' as int"),
    (SCEN, "model: ar1", "model: ar1\ntitle: " + "[" * 100 + "]" * 100, r"testland-2023\.yaml:4: nested more than "
     r"50 levels deep"),
    (SCEN, "targets:", '"tar\\ngets":', r"testland-2023\.yaml:4: tar\\ngets: unknown key"),
    (SCEN, "targets:", "Targets:", r"testland-2023\.yaml:4: Targets: unknown key; did you mean 'targets'\?"),
    (SCEN, "shift: {g: 0.01}", "shift: {g: {by: 0.01, frm: 2024}}", r"scenarios\.shifted\.shift\.g\.frm: unknown "
     r"key; did you mean 'from'\?; allowed here: by, from$"),
    (SCEN, "value: 112", "value: -112", r"testland-2023\.yaml:11: targets\.level_high\.value: a level cannot be "
     r"below 0; got -112"),
    (SCEN, "shift: {g: 0.01}", "shift: {g: 0.01}\n    shock: {level: {year: 2023, by: -100}}",
     r"testland-2023\.yaml:\d+: scenarios\.shifted\.shock\.level\.by: a level cannot fall by 100% or more"),
    (PARAMS, "sigma: {value: 0.02, source: test value}", "sigma: {value: 0.02, source: test value}\n"
     "    covariance: [[1, 0, 0], [0.5, 1, 0], [0, 0, 1]]", r"testland\.yaml:\d+: processes\.g: covariance must be "
     r"symmetric"),
    (PARAMS, "sigma: {value: 0.02, source: test value}", "sigma: {value: 0.02, source: test value}\n"
     "    covariance: [[1, 0, 0], [0, -1, 0], [0, 0, 1]]", r"processes\.g: covariance: the variances on its "
     r"diagonal must be positive"),
    (PARAMS, "sigma: {value: 0.02, source: test value}", "sigma: {value: 0.02, source: test value}\n"
     "    within_year_sd: {value: -0.5, source: test}", r"processes\.g: within_year_sd must be positive"),
    (MODEL, "drivers: {g: 1}\n  rate", "drivers: {g: 0}\n  rate", r"ar1\.yaml:\d+: indicators\.level\.drivers: the "
     r"coefficient of driver 'g' is 0; remove the driver instead"),
    (DATA, ",test fixture,", "," + "x" * 200_000 + ",", r"testland\.csv:2: not valid CSV: field larger than field limit"),
    (DATA, "test fixture", "test\rfixture", r"testland\.csv:2: has 9 fields, the header has 11"),
    (DATA, "2020,1-12,100,亿元", "2020,1-12,1e305,万亿元", r"testland\.csv:2: value: 1e305 万亿元 is too large a number"),
    (DATA, "Testland,level,", "Testland,level_share,", r"testland\.csv:2: unit: level_share is in % "
     r"\(calibration/data/README\.md\), not in 亿元"),
]


@pytest.mark.parametrize(("rel", "old", "new", "expected"), CASES, ids=[f"{i}" for i in range(len(CASES))])
def test_broken_input_gets_one_clear_line(project, capsys, rel, old, new, expected):
    path = project / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, "the case no longer matches the fixture"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    code = main(["run", str(project / SCEN), "--paths", "100"])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("sim: error: ")
    assert re.search(expected, err), err


def test_duplicate_and_conflicting_data_rows(project, capsys):
    path = project / DATA
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")
    assert main(["run", str(project / SCEN), "--paths", "100"]) == 2
    assert re.search(rf"testland\.csv:{len(lines) + 1}: duplicate of testland\.csv:2; delete one", capsys.readouterr().err)
    conflict = lines[1].replace(",100,", ",101,").replace("test fixture", "another source")
    path.write_text("\n".join([*lines, conflict]) + "\n", encoding="utf-8")
    assert main(["run", str(project / SCEN), "--paths", "100"]) == 2
    assert re.search(rf"testland\.csv:{len(lines) + 1}: conflicts with testland\.csv:2 \(100 vs 101, both published 2021-01-20\)",
                     capsys.readouterr().err)


@pytest.mark.parametrize(("content", "expected"), [
    (b"", r"file is empty"),
    (b"\x00\x01\x02", r"is a binary file"),
    ("region: 济南\n".encode("gbk"), r"is not UTF-8 text \(GBK\?\); save it as UTF-8"),
    (b"- just\n- a list\n", r"must be a mapping"),
    (b"a: 1\n" * 300_000, r"more than the 1,000,000 allowed"),
])
def test_unreadable_scenario_files(project, capsys, content, expected):
    path = project / "scenarios/bad.yaml"
    path.write_bytes(content)
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert re.search(r"bad\.yaml(:\d+)?: .*" + expected, err), err


def test_billion_laughs_is_refused_quickly(project):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(20))
    path = project / "scenarios/bomb.yaml"
    path.write_text(bomb)
    with pytest.raises(sim.SimError, match="aliases"):
        sim.run(path)


def test_options_are_checked(project, capsys):
    for args, expected in ((["--paths", "0"], "--paths: must be a whole number from 1 to 1,000,000,000, got 0"),
                           (["--seed", "-1"], "--seed: must be a whole number from 0 to"),
                           (["--threads", "999"], "--threads: must be a whole number from 1 to")):
        assert main(["run", str(project / SCEN), *args]) == 2
        assert expected in capsys.readouterr().err


def test_a_missing_file_is_named(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml: cannot read the file (No such file or directory); check the path" in capsys.readouterr().err
