"""Faults: internal errors, huge files, concurrent runs on one kernel cache, interrupted writes."""

import json
import os
import subprocess
import sys

import pytest

import sim
from sim import api
from sim.cli import main
from tests.conftest import ROOT

SCEN = "scenarios/testland-2023.yaml"


def test_an_internal_error_is_one_line_and_exit_1(project, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("something unexpected")

    monkeypatch.setattr(api, "run", broken)
    assert main(["run", str(project / SCEN)]) == 1
    err = "".join(line for line in capsys.readouterr().err.splitlines(keepends=True)
                  if not line.startswith("sim: compiling"))  # the cold-cache notice comes first
    assert err.count("\n") == 1 and err.startswith("sim: internal error: RuntimeError: something unexpected")


def test_a_huge_file_is_refused_without_reading_it(project):
    path = project / "scenarios/huge.yaml"
    with path.open("wb") as fh:
        fh.truncate(3 * 1024**3)  # sparse: 3 GB that take no disk
    try:
        sim.run(path)
    except sim.SimError as err:
        assert "3,221,225,472 bytes, more than the 1,000,000 allowed" in str(err)
    else:
        raise AssertionError("a 3 GB scenario file was accepted")


def test_two_runs_at_once_share_a_fresh_kernel_cache(project, tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "sim.cli", "run", str(project / SCEN), "--paths", "5000", "--json"]
    procs = [subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    first, second = (json.loads(o[0]) for o in outs)
    assert first == second


def test_killing_a_report_leaves_the_old_one_or_the_new_one(project, tmp_path):
    import signal
    import time

    scen = str(project / SCEN)
    out = tmp_path / "report"
    assert main(["report", scen, "-o", str(out), "--paths", "2000"]) == 0
    old = {p.name: p.read_bytes() for p in out.iterdir()}
    cmd = [sys.executable, "-m", "sim.cli", "report", scen, "-o", str(out), "--force", "--paths", "400000",
           "--seed", "7"]
    for delay in (1.0, 4.0, 8.0):
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        printed, err = proc.communicate(timeout=600)
        files = {p.name: p.read_bytes() for p in out.iterdir()}
        assert proc.returncode in (0, 130, -signal.SIGTERM), err  # -15: killed while still importing
        # a signal during the swap waits for it; one right after it finds the report complete
        new = files != old or proc.returncode == 0
        if new:  # a complete new report (two finished runs in one minute are byte-identical)
            assert set(files) == set(old)
            assert "400,000 Monte Carlo paths · seed 7" in files["index.html"].decode()
            # finished, or stopped while swapping it in (130), or killed by the default SIGTERM
            # while the interpreter shut down after saying so (-15)
            assert (proc.returncode == 0 or f"interrupted; complete before it: {out}" in err
                    or (proc.returncode == -signal.SIGTERM and f"report written to {out}" in printed)), err
            old = files
        else:
            assert proc.returncode == -signal.SIGTERM or "interrupted; no output was written" in err, err
        leftovers = [p.name for p in tmp_path.iterdir() if p.name not in ("report", "project")]
        assert leftovers == [], leftovers


def test_a_signal_during_the_swap_waits_until_the_output_is_in_place(tmp_path):
    """Without the deferral the KeyboardInterrupt would land before the rename: the old file would
    stay and the new one be lost (or, for a folder, neither be in place)."""
    import signal
    import time

    from sim import output

    target, new = tmp_path / "out.txt", tmp_path / "new.tmp"
    target.write_text("old")
    new.write_text("new")
    with pytest.raises(KeyboardInterrupt):
        with output.committing(target):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            os.replace(new, target)
    assert target.read_text() == "new"
    assert output.WRITTEN[-1] == target


def test_an_output_that_cannot_be_written_is_one_line_and_leaves_nothing(tmp_path):
    import numpy as np
    import xarray as xr

    from sim.errors import SimError
    from sim.output import write_dataset

    ds = xr.Dataset({"p": ("x", np.zeros(3))})
    taken = tmp_path / "sweep.nc"
    taken.mkdir()  # a folder where the file should go
    with pytest.raises(SimError, match=r"sweep\.nc: cannot write it: Is a directory"):
        write_dataset(ds, taken)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.nc"] and not any(taken.iterdir())
