"""The benchmark suite's workloads stay valid inputs: `python -m benchmarks` is not run by CI, so a
change to the loaders or bounds that breaks a workload must fail here."""

import pytest

from benchmarks.workloads import EXAMPLE, MONTHLY, WIDE, plan, shape


@pytest.mark.parametrize("scenario", [WIDE.scenario, MONTHLY.scenario, EXAMPLE], ids=["a", "b", "example"])
def test_every_workload_loads_and_plans(scenario):
    sizes = shape(plan(scenario))
    assert sizes["steps"] >= 1 and sizes["targets"] >= 1 and sizes["scenarios"] >= 1


def test_the_monthly_workload_keeps_its_sixty_steps():
    assert shape(plan(MONTHLY.scenario))["steps"] == 60
