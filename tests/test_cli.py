"""The command line: the shipped example, the JSON schema, exit codes."""

import json
import re
import subprocess
import sys

from sim.cli import main
from tests.conftest import ROOT

JINAN = ROOT / "scenarios" / "jinan-2025.yaml"
FIELDS = {"region", "indicator", "period", "target", "comparator", "scenario", "probability", "std_error"}


def test_the_shipped_example_answers_every_target_with_its_evidence(capsys):
    assert main(["run", str(JINAN), "--paths", "20000"]) == 0
    out = capsys.readouterr().out
    assert "规上工业营业收入突破1万亿元" in out and "P(weighted)" in out
    assert "全部模拟目标同时实现" in out
    assert "Not given a probability:" not in out  # all six of the plan's targets
    for name in ("四大主导支柱产业规模总量达到2万亿元", "优质企业总数8000家以上", "单位工业增加值能耗比2020年降低17%左右",
                 "数字经济核心产业增加值占GDP比重21%以上"):
        row = next(line for line in out.splitlines() if name in line)
        assert re.search(re.escape(name) + r"\s+[ABCD]\s", row), row


def test_json_has_one_record_per_target_and_scenario(capsys):
    assert main(["run", str(JINAN), "--paths", "20000", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    records = doc["results"]
    assert all(FIELDS <= set(r) for r in records)
    scenarios = {r["scenario"] for r in records}
    assert scenarios == {"baseline", "downside", "upside", "weighted"}
    targets = {r["target"] for r in records}
    assert "all" in targets
    assert {r["indicator"] for r in records if r["target"] == "all"} == {"all"}
    assert len(records) == len(targets) * len(scenarios)
    assert all(0 <= r["probability"] <= 1 and r["std_error"] >= 0 for r in records)
    assert set(doc["run"]["inputs"]) >= {"scenarios/jinan-2025.yaml", "models/industry.yaml",
                                        "calibration/params/jinan.yaml"}
    assert targets >= {"revenue", "quality_firms", "energy_intensity", "pillar_industries"}
    assert {r["evidence"] for r in records} <= set("ABCD") and all(r["basis"] for r in records)


def test_exit_codes():
    ok = subprocess.run([sys.executable, "-m", "sim.cli", "run", str(JINAN), "--paths", "1000"],
                        capture_output=True, text=True)
    assert ok.returncode == 0
    bad = subprocess.run([sys.executable, "-m", "sim.cli", "run", "missing.yaml"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    usage = subprocess.run([sys.executable, "-m", "sim.cli", "run"], capture_output=True, text=True)
    assert usage.returncode == 2


def test_the_cli_loads_no_heavy_module_before_its_signal_handlers():
    probe = ("import sys, sim.cli; print(sorted(m for m in ('numpy', 'pandas', 'xarray', 'numba', "
             "'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
