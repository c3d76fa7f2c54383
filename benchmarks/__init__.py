"""The benchmark suite of ``sim`` (issue 6): speed, accuracy per second, memory and start-up.

Run it from the repository root with ``python -m benchmarks`` (``--quick`` for a smoke test,
``--only NAME`` for one group); see ``benchmarks/README.md`` for what each measurement means and
the targets it is held to. Results go to ``benchmarks/results/<timestamp>.json``.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
FIXTURES = HERE / "fixtures"
RESULTS = HERE / "results"
