"""Property-based tests of the input loaders and the ``sim run`` entry (issue 9).

Whatever bytes an input file holds, a loader either returns a valid object (every value inside its
domain) or raises a ``SimError`` whose message is one line naming the file and, for a problem
inside the file, its line (``file:LINE: ...``); never another exception. ``sim run`` exits 0, or 2
with exactly one line ``sim: error: ...`` on stderr. Inputs are random YAML/CSV documents and
mutations of every shipped input file (always copies, in temporary folders).

The examples are derandomized so CI is reproducible; the number of cases tried per property is
printed at the end of the run.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import math
import re
import shutil
import warnings
from collections import Counter
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from sim import observations, units
from sim.cli import main
from sim.errors import SimError
from sim.spec import ModelSpec, ParamsFile, ScenarioFile

HERE = Path(__file__).parent
ROOT = HERE.parent
FIXTURE = HERE / "fixtures" / "ar1"
# the shipped project and the test fixture projects (ar1 first)
PROJECTS = [ROOT, FIXTURE, *(p for p in sorted((HERE / "fixtures").iterdir()) if p.is_dir() and p != FIXTURE)]


def _inputs(folder: str, pattern: str) -> list[Path]:
    return [path for project in PROJECTS for path in sorted((project / folder).glob(pattern))]


# the model files among models/*.yaml (a project's models/synonyms.yaml is for sim extract)
MODEL_FILES = [p for p in _inputs("models", "*.yaml") if b"\nprocesses:" in p.read_bytes()]
SCENARIO_FILES = _inputs("scenarios", "*.yaml")
PARAMS_FILES = _inputs("calibration/params", "*.yaml")
DATA_FILES = _inputs("calibration/data", "*.csv")
YAML_FILES = [*MODEL_FILES, *SCENARIO_FILES, *PARAMS_FILES]
LOADER = {**dict.fromkeys(MODEL_FILES, ModelSpec.load), **dict.fromkeys(SCENARIO_FILES, ScenarioFile.load),
          **dict.fromkeys(PARAMS_FILES, ParamsFile.load)}
# the inputs as they are when the tests start: examples must not change if a file is edited meanwhile
SNAPSHOT = {path: path.read_bytes() for path in [*YAML_FILES, *DATA_FILES]}

FUZZ = settings(deadline=None, derandomize=True, database=None, print_blob=False,
                phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
COUNTS: dict[str, Counter] = {}

# errors about the file as a whole carry no line number
WHOLE_FILE = ("file is empty", "is a binary file", "allowed for an input file", "holds no YAML document",
              "cannot read the file", "is UTF-16 or UTF-32 text", "is a folder", "is not a regular file")


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and COUNTS:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\nfuzz cases tried: " + "; ".join(
                f"{name} {sum(c.values())} ({', '.join(f'{k} {v}' for k, v in sorted(c.items()))})"
                for name, c in COUNTS.items()))


def _count(prop: str, outcome: str) -> None:
    COUNTS.setdefault(prop, Counter())[outcome] += 1
    event(outcome)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# --- the property --------------------------------------------------------------------------------

def check_error(err: SimError, files: list[Path]) -> None:
    """One line that names one of ``files`` and, unless it is about the whole file, the line."""
    msg = str(err)
    assert len(msg.splitlines()) == 1 and "\n" not in msg and "\r" not in msg, repr(msg)
    named = [f for f in files if msg.startswith(f"{f}:")]
    assert named, f"the message does not start with the file: {msg!r}"
    if not any(part in err.message for part in WHOLE_FILE):
        assert re.match(re.escape(str(named[0])) + r":\d+: ", msg), f"no line number: {msg!r}"


def outcome(call, files: list[Path]) -> tuple[bool, object]:
    """Run ``call``: (True, its result), or (False, None) after checking the SimError it raised."""
    try:
        return True, call()
    except SimError as err:
        check_error(err, files)
        return False, None


def finite_tree(value: object, where: str = "") -> None:
    if isinstance(value, float):
        assert math.isfinite(value), f"accepted a non-finite number at {where}"
    elif isinstance(value, dict):
        for k, v in value.items():
            finite_tree(v, f"{where}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            finite_tree(v, f"{where}.{i}")


def check_model(model: ModelSpec) -> None:
    finite_tree(model.model_dump())
    assert model.processes and model.indicators
    for ind in model.indicators.values():
        assert ind.processes(model) and set(ind.processes(model)) <= set(model.processes)
        if ind.kind == "share":
            assert ind.unit == "%"


def check_loaded(obj: object, path, models: tuple) -> None:
    """Whatever a loader accepted lies in its domain; a scenario also against each model it fits."""
    if isinstance(obj, ScenarioFile):
        check_scenario(obj)
        for model in models:
            spec = model_spec(model)
            if outcome(lambda obj=obj, spec=spec: obj.check_against(spec), [path])[0]:
                check_scenario(obj, spec)
    elif isinstance(obj, ParamsFile):
        check_params(obj)
    elif isinstance(obj, ModelSpec):
        check_model(obj)


def check_params(params: ParamsFile) -> None:
    finite_tree(params.model_dump())
    assert params.shocks.df is None or params.shocks.df.value > 2
    for proc in params.processes.values():
        assert proc.df is None or proc.df.value > 2
        assert -1 < proc.phi.value < 1, proc.phi
        assert proc.sigma.value > 0, proc.sigma
        for est in (proc.mean, proc.phi, proc.sigma, proc.within_year_sd):
            assert est is None or est.std_error >= 0
        if proc.within_year_sd is not None:
            assert proc.within_year_sd.value > 0, f"accepted a within-year sd of {proc.within_year_sd.value}"
        if proc.shrinkage is not None:
            assert 0 <= proc.shrinkage <= 1
        cov = proc.covariance
        if cov is not None:
            assert len(cov) == 3 and all(len(row) == 3 for row in cov)
            assert all(cov[i][i] > 0 for i in range(3)), f"accepted a variance <= 0 in {cov}"
            assert all(math.isclose(cov[i][j], cov[j][i], rel_tol=1e-6, abs_tol=1e-12)
                       for i in range(3) for j in range(3)), f"accepted an asymmetric covariance {cov}"
    for a, row in params.shocks.correlation.items():
        for b, r in row.items():
            assert a != b and -1 < r < 1


def check_scenario(scenario: ScenarioFile, model: ModelSpec | None = None) -> None:
    finite_tree(scenario.model_dump())
    assert 1949 <= scenario.year <= 2200
    assert math.isclose(sum(s.weight for s in scenario.scenarios.values()), 1.0, abs_tol=1e-9)
    for s in scenario.scenarios.values():
        assert 0 <= s.weight <= 1
        assert all(0 < getattr(v, "by", v) <= 100 for v in s.volatility.values())  # a number or a Scale
    for t in scenario.targets.values():
        assert 1949 <= t.year <= 2200
        assert t.unit in units.UNITS
        if t.measure in ("change_since", "difference_since"):
            assert t.base_year is not None and t.base_year < t.year
        assert t.tolerance is None or t.tolerance >= 0
    if model is None:
        return
    for t in scenario.targets.values():
        if t.indicator is None:
            continue  # listed, not simulated
        ind = model.indicators[t.indicator]
        if t.measure == "level" and ind.kind == "share":
            assert 0 < t.value < 100, f"accepted a share target of {t.value}%"
        if t.measure == "level" and ind.kind != "rate":  # levels, shares, counts are positive
            assert t.value >= 0, f"accepted a target of {t.value} {t.unit}"
        if t.measure in ("growth", "change_since") and ind.kind != "rate":
            assert t.value > -100, f"accepted a target change of {t.value}%"
    for s in scenario.scenarios.values():
        assert set(s.shift) | set(s.volatility) <= set(model.processes)


def check_observations(obs) -> None:
    for row in obs.to_dict("records"):
        assert math.isfinite(row["value"]), row
        assert 1949 <= row["period"] <= 2200 and 1 <= row["first_month"] <= row["last_month"] <= 12, row
        dim = units.dimension(row["unit"])
        if dim in ("money", "count"):
            assert row["value"] >= 0, row
        if re.search(r"_(share|growth|change|change_since_\d{4})$", row["indicator"]):
            assert dim == "percent", row  # as calibration/data/README.md says
        if dim == "percent":
            assert row["value"] > -100, row
            if row["indicator"].endswith("_share"):
                assert 0 < row["value"] < 100, row
        assert row["line"] >= 2


_MODELS: dict[Path, ModelSpec] = {}
INDUSTRY, AR1 = ROOT / "models" / "industry.yaml", FIXTURE / "models" / "ar1.yaml"


def project_of(path: Path) -> Path:
    return next(project for project in PROJECTS[1:] + PROJECTS[:1] if project in path.parents)


def model_of(scenario: Path) -> Path:
    """The model file a shipped scenario file names."""
    try:
        name = yaml.load(SNAPSHOT[scenario], Loader=_LOADER)["model"]
    except (yaml.YAMLError, TypeError, KeyError):  # a file being edited
        name = "industry"
    return project_of(scenario) / "models" / f"{name}.yaml"


def model_spec(path: Path) -> ModelSpec:
    if path not in _MODELS:
        _MODELS[path] = ModelSpec.load(path)
    return _MODELS[path]


def load_yaml_as(original: Path, path: Path, prop: str) -> None:
    """Load ``path`` (a copy of ``original``, perhaps mutated) with its loader; check the property."""
    ok, obj = outcome(lambda: LOADER[original](path), [path])
    if not ok:
        _count(prop, "SimError")
        return
    if isinstance(obj, ModelSpec):
        check_model(obj)
    elif isinstance(obj, ParamsFile):
        check_params(obj)
    else:
        check_scenario(obj)
        spec = model_spec(model_of(original))
        if not outcome(lambda: obj.check_against(spec), [path])[0]:
            _count(prop, "SimError in check_against")
            return
        check_scenario(obj, spec)
    _count(prop, "loaded")


def load_csv(path: Path, prop: str) -> None:
    ok, obs = outcome(lambda: observations.load(path.parent), [path])
    if not ok:
        _count(prop, "SimError")
    else:
        check_observations(obs)
        _count(prop, "loaded")


# --- strategies: random values and raw YAML tokens -----------------------------------------------

# YAML text that no dumper writes: tags, aliases, bad dates, huge numbers, stray syntax
RAW_TOKENS = [
    "9" * 5000, "-" + "9" * 4400, "1" + "0" * 400, "1e400", "-1e400", "1e-400", "0x1F", "0o17", "0b101", "1_000",
    "1:30", ".nan", ".NaN", "-.inf", ".inf", "~", "null", "yes", "No", "on", "2023-02-30", "2023-13-01",
    "2023-1-1", "2023-01-01T25:00:00", "!!python/object:os.system x", "!!python/name:os.system ''",
    "!foo bar", "!!binary '@@@'", "!!int abc", "!!float abc", "!!timestamp abc", "!!bool maybe", "!!null x",
    "!!str 1", "!!set {a}", "!!omap [a]", "*anchor", "&anchor 1", "[", "]", "{", "}", "'unterminated",
    '"unterminated', '"a\\nb"', '"a\\Lb"', '"a\\x85b"', '"\\ud800"', '"\\x07"', "|", ">", "? x", "- x", "@x",
    "`x", "%x", "<<", "a: b: c", "\t", "\x07", "\u2028", "\x85", "\ufeff", "#", "---", "...", "'a''b'",
    "规上工业", "é", "🙂", "",
]
NUMBERS = st.one_of(
    st.floats(), st.integers(), st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([math.nan, math.inf, -math.inf, 0, -0.0, 1, -1, 2, 0.999999, 1.0, -1.0, 100, -100, 1e308,
                     -1e308, 5e-324, 2**63, -(2**63), 10**30, 1949, 1948, 2200, 2201, 0.5]))
TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
SCALARS = st.one_of(
    st.none(), st.booleans(), NUMBERS, TEXT, st.dates(),
    st.sampled_from(["", " ", "%", "pp", "亿元", "万亿元", "家", "index", "亿", ">=", ">", "about", "=>", "level",
                     "growth", "change_since", "rate", "share", "higher", "regional", "log", "logit",
                     "力争", "weighted", "all", "Testland", "ar1", "industry", "g", "x" * 3000]),
)


# PyYAML's C bindings, when built, make generating the examples faster; the loaders use their own
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class Raw(str):
    """A leaf written as raw YAML text (see ``dump``)."""


RAW = st.sampled_from(RAW_TOKENS).map(Raw)
LEAVES = st.one_of(SCALARS, SCALARS, RAW)


def _mostly(valid: st.SearchStrategy, other: st.SearchStrategy, n: int) -> st.SearchStrategy:
    """``valid`` n - 1 times in n, else ``other`` (one_of would weigh each of their branches alike)."""
    return st.integers(0, n - 1).flatmap(lambda i: other if i == n // 2 else valid)  # not 0: it comes up often


def _maybe(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly a value of the right kind, else anything."""
    return _mostly(valid, LEAVES, 24)


def _field_names(model: type, seen: set) -> None:
    for name, field in model.model_fields.items():
        seen.add(field.alias or name)
        for ann in (field.annotation, *getattr(field.annotation, "__args__", ())):
            for sub in (ann, *getattr(ann, "__args__", ())):
                if isinstance(sub, type) and hasattr(sub, "model_fields") and sub.__name__ not in seen:
                    seen.add(sub.__name__)
                    _field_names(sub, seen)


_names: set = set()
for _m in (ModelSpec, ParamsFile, ScenarioFile):
    _field_names(_m, _names)
KEY_NAMES = [*sorted(n for n in _names if n[0].islower()), "g", "level", "rate", "base", "shifted", "iva_growth"]
KEYS = st.one_of(st.sampled_from(KEY_NAMES), TEXT, st.integers(), st.booleans(), RAW)

DOCS = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)), max_leaves=25)
TOP = st.dictionaries(KEYS, DOCS, max_size=8)


def dump(doc: object) -> str:
    """YAML text of ``doc``; ``Raw`` strings are written verbatim (as keys and as values)."""
    raws: list[str] = []

    def swap(value: object) -> object:
        if isinstance(value, Raw):
            raws.append(str(value))
            return f"rawtoken{len(raws) - 1}x"
        if isinstance(value, dict):
            return {swap(k): swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    text = yaml.dump(swap(doc), Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=4096)
    return re.sub(r"rawtoken(\d+)x", lambda m: raws[int(m.group(1))], text)


# --- strategies: mutations of the shipped files ---------------------------------------------------

EMPTY = [b"", b"\n", b"  \n\t\n", b"# only a comment\n", b"---\n", b"~\n", b"...\n", b"\xef\xbb\xbf", b"null\n",
         b"[]\n", b"{}\n", b"0\n", b"''\n", b"- a\n- b\n", b"--- 1\n--- 2\n", b"a\n", b"\xef\xbb\xbf\n\n"]
ENCODINGS = ["gbk", "gb18030", "big5", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252",
             "utf-8-sig", "shift_jis"]


@st.composite
def byte_mutation(draw, raw: bytes) -> tuple[str, bytes]:
    op = draw(st.sampled_from(["truncate", "flip", "bitflip", "insert", "encoding", "empty", "huge",
                               "newlines", "bom"]))
    if op == "truncate":
        return op, raw[: draw(st.integers(0, len(raw)))]
    if op in ("flip", "bitflip"):
        data = bytearray(raw)
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255)) if op == "flip" else data[i] ^ (1 << draw(st.integers(0, 7)))
        return op, bytes(data)
    if op == "insert":
        i = draw(st.integers(0, len(raw)))
        return op, raw[:i] + draw(st.binary(min_size=1, max_size=8) | TEXT.map(str.encode)) + raw[i:]
    if op == "encoding":
        codec = draw(st.sampled_from(ENCODINGS))
        return f"{op} {codec}", raw.decode("utf-8", errors="replace").encode(codec, errors="replace")
    if op == "empty":
        return op, draw(st.sampled_from(EMPTY))
    if op == "huge":  # over the limit of a YAML file (1 MB) or of a CSV file (20 MB)
        return op, raw + b"#" * (1_000_001 if draw(st.booleans()) else 20_000_001)
    if op == "newlines":
        return op, raw.replace(b"\n", draw(st.sampled_from([b"\r\n", b"\r", b"\n\n", b"\x85", b"\r\r\n"])))
    return op, b"\xef\xbb\xbf" + raw


@st.composite
def line_mutation(draw, text: str, yaml_file: bool) -> tuple[str, str]:
    lines = text.split("\n")
    op = draw(st.sampled_from(["dup_line", "del_line", "swap_lines", "indent", "token"] if yaml_file else
                              ["dup_line", "del_line", "swap_lines", "insert_text"]))
    i = draw(st.integers(0, len(lines) - 1))
    j = draw(st.integers(0, len(lines) - 1))
    if op == "dup_line":
        lines.insert(i, lines[i])
    elif op == "del_line":
        del lines[i]
    elif op == "swap_lines":
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "indent":
        lines[i] = draw(st.sampled_from([" ", "  ", "\t", "-", "? "])) + lines[i] if draw(st.booleans()) \
            else lines[i].lstrip()
    elif op == "token":
        head, sep, _ = lines[i].partition(": ")
        lines[i] = head + (sep or ": ") + draw(st.sampled_from(RAW_TOKENS))
    else:
        k = draw(st.integers(0, len(lines[i])))
        lines[i] = lines[i][:k] + draw(TEXT | st.sampled_from(['"', ",", ",,", '"a,b"', "\r", "\x00", "\ufeff"])) \
            + lines[i][k:]
    return op, "\n".join(lines)


def _paths(obj: object, here: tuple = ()) -> list[tuple]:
    out = [here]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*here, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*here, i))
    return out


def _get(obj: object, path: tuple) -> object:
    for part in path:
        obj = obj[part]
    return obj


def _numeric_variants(x: float) -> st.SearchStrategy:
    return st.one_of(NUMBERS, st.sampled_from([-x, x * 1e10, x * 1e300, x / 1e10, x + 1, x - 1, x * 100, x / 100,
                                               str(x), [x], {"value": x}]))


@st.composite
def structure_mutation(draw, doc: object) -> tuple[str, str]:
    paths = [p for p in _paths(doc) if p]
    op = draw(st.sampled_from(["delete", "replace", "numeric", "numeric", "numeric", "unit", "rename", "swap",
                               "subtree"]))
    numeric = [p for p in paths if isinstance(_get(doc, p), int | float) and not isinstance(_get(doc, p), bool)]
    if op == "numeric" and numeric:
        path = draw(st.sampled_from(numeric))
        new = draw(_numeric_variants(_get(doc, path)))
    elif op == "unit" and (unit_paths := [p for p in paths if p[-1] == "unit"]):
        path = draw(st.sampled_from(unit_paths))
        new = draw(st.sampled_from([*units.UNITS, "亿", "%%", "", None, "percent", "元/吨"]))
    elif op == "subtree":
        path = draw(st.sampled_from(paths))
        new = draw(DOCS)
    else:
        path = draw(st.sampled_from(paths))
        new = draw(LEAVES | st.sampled_from([[], {}]))
    parent, key = _get(doc, path[:-1]), path[-1]
    if op == "delete":
        del parent[key]
    elif op == "rename" and isinstance(parent, dict):
        name = draw(KEYS)
        items = [((name if k == key else k), v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)
    elif op == "swap" and isinstance(parent, dict | list) and len(parent) > 1:
        other = draw(st.sampled_from([k for k in (parent if isinstance(parent, dict) else range(len(parent)))
                                      if k != key]))
        parent[key], parent[other] = parent[other], parent[key]
    else:
        parent[key] = new
    return f"{op} {'.'.join(map(str, path))}", dump(doc)


@st.composite
def csv_mutation(draw, text: str) -> tuple[str, str]:
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:  # an earlier mutation broke it
        return "csv none", text
    if not rows or not rows[-1]:
        rows.append(["x"])
    op = draw(st.sampled_from(["field", "field", "value", "unit", "del_field", "add_field", "swap_fields",
                               "dup_row", "del_row", "header"]))
    r = draw(st.integers(1, len(rows) - 1)) if len(rows) > 1 else 0
    row = rows[r] or [""]
    rows[r] = row
    c = draw(st.integers(0, len(row) - 1))
    if op == "field":
        row[c] = draw(CSV_FIELDS)
    elif op == "value" and len(row) > 4:
        try:
            x = float(row[4])
        except ValueError:
            x = 1.0
        row[4] = draw(st.sampled_from([-x, x * 1e300, x * 1e10, x + 100, 100 - x, 0.0, -100.0, 1e305, 1e309,
                                       math.nan, math.inf]).map(repr) | CSV_FIELDS)
    elif op == "unit" and len(row) > 5:
        row[5] = draw(st.sampled_from([*units.UNITS, "亿", "", "percent"]))
    elif op == "del_field":
        del row[c]
    elif op == "add_field":
        row.insert(c, draw(CSV_FIELDS))
    elif op == "swap_fields":
        d = draw(st.integers(0, len(row) - 1))
        row[c], row[d] = row[d], row[c]
    elif op == "dup_row":
        rows.insert(draw(st.integers(1, len(rows))), list(row))
    elif op == "del_row":
        del rows[r]
    else:
        header = rows[0] or [""]
        rows[0] = header
        k = draw(st.integers(0, len(header) - 1))
        header[k] = draw(st.sampled_from(["", "Region", "regio", "value ", "﻿region", *observations.COLUMNS]))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return f"csv {op} row {r}", out.getvalue()


CSV_FIELDS = st.one_of(
    TEXT,
    st.sampled_from(["", " ", "nan", "inf", "-inf", "1e309", "1e305", "-1", "-100", "-99.99", "0", "100", "150",
                     "1_000", "0x10", "١٢", "abc", '"', "a,b", "a\nb", "a\rb", "2020-02-30", "2020-13-01", "2020",
                     "0", "1948", "2201", "99999999999999999999", "9" * 5000, "1-13", "12-1", "0-0", "1-12",
                     "11-11", "13", "approx", "at_least", "preliminary", "maybe", "Testland", "China",
                     "level", "digital_economy_share", "Level", "x" * 200_000, "2021-01-20", "2021-1-20",
                     "1949-01-01", *units.UNITS]),
    NUMBERS.map(str),
)


@st.composite
def mutated_file(draw, files: list[Path], kinds: tuple = ("bytes", "lines", "structure", "structure")
                 ) -> tuple[Path, str, bytes]:
    """A shipped file, mutated once (or twice): the original, what was done, the new bytes."""
    original = draw(st.sampled_from(files))
    raw = SNAPSHOT[original]
    content, ops = raw, []
    for _ in range(draw(st.sampled_from([1, 1, 1, 2]))):
        kind = draw(st.sampled_from(kinds))
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            kind = "bytes"
        if kind == "bytes" and len(content) > 0:
            op, content = draw(byte_mutation(content))
        elif kind == "lines" and len(content) > 0:
            op, text = draw(line_mutation(text, original.suffix == ".yaml"))
            content = text.encode("utf-8", errors="surrogatepass")
        elif original.suffix == ".yaml" and len(content) > 0:
            try:
                doc = yaml.load(text, Loader=_LOADER)
            except (yaml.YAMLError, ValueError, TypeError, AttributeError, LookupError, RecursionError):
                continue  # an earlier mutation broke it
            if not _paths(doc)[1:]:
                continue
            op, text = draw(structure_mutation(doc))
            content = text.encode("utf-8", errors="surrogatepass")
        elif len(content) > 0:
            op, text = draw(csv_mutation(text))
            content = text.encode("utf-8", errors="surrogatepass")
        else:
            continue
        ops.append(op)
        if op == "huge":
            break
    return original, "; ".join(ops) or "none", content


def _fresh(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


# --- 1. random structures -------------------------------------------------------------------------

@settings(FUZZ, max_examples=250)
@given(doc=st.one_of(TOP, TOP, DOCS, RAW), as_text=st.booleans())
def test_random_yaml_documents(scratch, doc, as_text):
    """Random YAML documents through every YAML loader (and check_against when one loads)."""
    text = dump(doc) if as_text or not isinstance(doc, Raw) else str(doc)
    folder = _fresh(scratch / "random")
    for loader, name in ((ModelSpec.load, "m.yaml"), (ParamsFile.load, "p.yaml"), (ScenarioFile.load, "s.yaml")):
        path = folder / name
        path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
        ok, obj = outcome(lambda loader=loader, path=path: loader(path), [path])
        _count("random YAML", "loaded" if ok else "SimError")
        check_loaded(obj, path, (INDUSTRY, AR1))


@settings(FUZZ, max_examples=150)
@given(data=st.one_of(st.binary(max_size=200), TEXT.map(lambda t: t.encode("utf-8", errors="surrogatepass"))))
def test_random_bytes(scratch, data):
    """Arbitrary bytes as a YAML file and as a CSV file."""
    folder = _fresh(scratch / "bytes")
    for loader, name in ((ScenarioFile.load, "s.yaml"), (ParamsFile.load, "p.yaml")):
        path = folder / name
        path.write_bytes(data)
        ok, _ = outcome(lambda loader=loader, path=path: loader(path), [path])
        _count("random bytes", "loaded" if ok else "SimError")
    path = _fresh(scratch / "bytes_csv") / "x.csv"
    path.write_bytes(data)
    load_csv(path, "random bytes")


CSV_VALID = {  # plausible values of each column
    "region": st.sampled_from(["Testland", "China", "Jinan"]),
    "indicator": st.sampled_from(["level", "iva_growth", "digital_economy_share", "quality_firm_count", "gdp"]),
    "period": st.integers(2015, 2025).map(str), "months": st.sampled_from(["1-12", "1-11", "11-11", "1-2", "3-3"]),
    "value": st.one_of(st.floats(-150, 1e6), st.integers(-10, 10**6), st.sampled_from([0, 50, 99.9, 100])).map(str),
    "unit": st.sampled_from(list(units.UNITS)), "qualifier": st.sampled_from(sorted(observations.QUALIFIERS)),
    "published": st.dates(dt.date(2015, 1, 1), dt.date(2026, 12, 31)).map(str),
    "source": st.just("src"), "clause": st.just("clause"), "note": st.just(""),
}
CSV_ROW = _mostly(st.tuples(*(_mostly(CSV_VALID[c], CSV_FIELDS, 12) for c in observations.COLUMNS)).map(list),
                  st.lists(CSV_FIELDS, min_size=9, max_size=12), 10)


@settings(FUZZ, max_examples=150)
@given(rows=st.lists(CSV_ROW, max_size=6), header=st.sampled_from(["ok", "ok", "shuffled", "short"]))
def test_random_csv_files(scratch, rows, header):
    """Random rows (mostly of plausible fields) under a good or a broken header."""
    head = list(observations.COLUMNS)
    if header == "shuffled":
        head.reverse()
    elif header == "short":
        head = head[:-1]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([head, *rows])
    path = _fresh(scratch / "random_csv") / "x.csv"
    path.write_text(out.getvalue(), encoding="utf-8", errors="surrogatepass")
    load_csv(path, "random CSV")


NUM = st.one_of(NUMBERS, st.floats(-200, 200), st.integers(-5, 5))
YEAR = _mostly(st.integers(1949, 2200), st.integers(1900, 2300), 8)


def _est(value: st.SearchStrategy) -> st.SearchStrategy:
    return st.fixed_dictionaries({"value": _maybe(_mostly(value, NUM, 4)), "source": _maybe(st.just("s"))},
                                 optional={"std_error": _maybe(_mostly(st.floats(0, 2), NUM, 4))})


EST = _est(NUM)
COV = st.lists(st.floats(-1, 1), min_size=6, max_size=6).map(  # symmetric, positive diagonal
    lambda v: [[v[0] + 2, v[1], v[2]], [v[1], v[3] + 2, v[4]], [v[2], v[4], v[5] + 2]])
TARGET = st.fixed_dictionaries(
    {"name_zh": st.just("目标"), "name_en": st.just("target"), "indicator": _maybe(st.sampled_from(["level", "rate"])),
     "year": _maybe(YEAR), "comparator": _maybe(st.sampled_from([">=", ">", "<=", "<", "about"])),
     "value": _maybe(NUM), "unit": _maybe(st.sampled_from(list(units.UNITS))), "clause": st.just("c"),
     "source": st.just("s")},
    optional={"measure": _maybe(st.sampled_from(["level", "growth", "change_since", "difference_since"])),
              "base_year": _maybe(YEAR), "tolerance": _maybe(NUM)})
SCENARIO = st.fixed_dictionaries(
    {"weight": _maybe(st.sampled_from([1.0, 0.5, 0.25, 0.0]) | NUM)},
    optional={"shift": st.dictionaries(_maybe(st.just("g")), _maybe(NUM | st.fixed_dictionaries(
                  {"by": _maybe(NUM)}, optional={"from": _maybe(YEAR)}))),
              "volatility": st.dictionaries(_maybe(st.just("g")), _maybe(NUM)),
              "shock": st.dictionaries(_maybe(st.sampled_from(["level", "rate"])), st.fixed_dictionaries(
                  {"year": _maybe(YEAR), "by": _maybe(NUM)})),
              "override": st.dictionaries(_maybe(st.just("g")), st.fixed_dictionaries(
                  {}, optional={"mean": _maybe(NUM), "phi": _maybe(NUM), "sigma": _maybe(NUM)}))})
# documents shaped like the schemas (of the ar1 fixture), with random values: they often load
SHAPED = {
    ScenarioFile.load: st.fixed_dictionaries({
        "region": st.just("Testland"), "year": _maybe(YEAR), "model": st.just("ar1"),
        "targets": st.dictionaries(st.sampled_from(["t1", "t2", "t3"]), _maybe(TARGET), min_size=1, max_size=3),
        "scenarios": st.dictionaries(st.sampled_from(["base", "up", "down"]), _maybe(SCENARIO), min_size=1,
                                     max_size=2)}),
    ParamsFile.load: st.fixed_dictionaries({
        "region": st.just("Testland"), "model": st.just("ar1"), "method": st.just("m"),
        "shocks": st.fixed_dictionaries({"df": _maybe(_est(st.floats(2.5, 1e12)))}, optional={"correlation": st.dictionaries(
            _maybe(st.just("g")), st.dictionaries(_maybe(st.sampled_from(["g", "h"])), _maybe(NUM)))}),
        "processes": st.dictionaries(_maybe(st.just("g")), st.fixed_dictionaries(
            {"mean": _maybe(EST), "phi": _maybe(_est(st.floats(-1.2, 1.2))), "sigma": _maybe(_est(st.floats(0.001, 5)))},
            optional={"covariance": _mostly(COV, st.lists(st.lists(_maybe(NUM), min_size=3, max_size=3), min_size=3,
                                                          max_size=3), 3),
                      "within_year_sd": _maybe(_est(st.floats(0.001, 5))),
                      "shrinkage": _maybe(_mostly(st.floats(0, 1), NUM, 4))}), min_size=1)}),
    ModelSpec.load: st.fixed_dictionaries({
        "name": st.just("ar1"),
        "processes": st.dictionaries(_maybe(st.just("g")), st.fixed_dictionaries(
            {"name_zh": st.just("过程"), "name_en": st.just("p"), "unit": _maybe(st.sampled_from(["%", "log", "logit"]))}),
            min_size=1),
        "indicators": st.dictionaries(st.sampled_from(["level", "rate", "share"]), st.fixed_dictionaries(
            {"name_zh": st.just("指标"), "name_en": st.just("i"),
             "kind": _maybe(st.sampled_from(["rate", "level", "share"])),
             "unit": _maybe(st.sampled_from([*units.UNITS, None])),
             "drivers": st.dictionaries(_maybe(st.just("g")), _maybe(NUM), min_size=1, max_size=2)}), min_size=1)}),
}


@settings(FUZZ, max_examples=150)
@given(data=st.data())
def test_random_documents_shaped_like_the_schemas(scratch, data):
    """Random values in the right places: what loads must lie in its domain."""
    folder = _fresh(scratch / "shaped")
    for loader, strategy in SHAPED.items():
        path = folder / "x.yaml"
        path.write_text(dump(data.draw(strategy)), encoding="utf-8", errors="surrogatepass")
        ok, obj = outcome(lambda loader=loader, path=path: loader(path), [path])
        _count("shaped YAML", "loaded" if ok else "SimError")
        check_loaded(obj, path, (AR1,))


# --- 2. mutations of every shipped input file ----------------------------------------------------

@settings(FUZZ, max_examples=400)
@given(case=mutated_file(YAML_FILES))
def test_mutated_yaml_files(scratch, case):
    original, ops, content = case
    path = _fresh(scratch / "yaml") / original.name
    path.write_bytes(content)
    event(ops.split(" ")[0])
    load_yaml_as(original, path, "mutated YAML")


@settings(FUZZ, max_examples=250)
@given(case=mutated_file(DATA_FILES))
def test_mutated_csv_files(scratch, case):
    original, ops, content = case
    path = _fresh(scratch / "csv") / original.name
    path.write_bytes(content)
    event(ops.split(" ")[0])
    load_csv(path, "mutated CSV")


# --- 3. the whole `sim run` ------------------------------------------------------------------------

def materialize(dest: Path, root: Path, mutated: Path, content: bytes) -> Path:
    """A project in ``dest``: the snapshot of the inputs under ``root``, ``mutated`` replaced."""
    _fresh(dest)
    for path, raw in SNAPSHOT.items():
        if project_of(path) == root:
            target = dest / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content if path == mutated else raw)
    return dest


def run_cli(scenario: Path, prop: str) -> None:
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        warnings.simplefilter("always")
        code = main(["run", str(scenario), "--paths", "100"])
    lines = [line for line in err.getvalue().splitlines() if not line.startswith("sim: compiling")]
    lines += [f"{w.category.__name__}: {w.message}" for w in caught]  # the CLI would print them
    assert code in (0, 2), f"exit {code}: {err.getvalue()}"
    if code == 2:
        assert len(lines) == 1 and lines[0].startswith("sim: error: "), lines
        assert "Traceback" not in lines[0]
    else:
        assert lines == [], lines
    _count(prop, f"exit {code}")


# mostly changes of values that leave the file readable: more runs get past the loaders
CLI_KINDS = ("bytes", "lines", "structure", "structure", "structure", "structure")
FIXTURE_FILES = [path for path in SNAPSHOT if project_of(path) != ROOT]


@settings(FUZZ, max_examples=200)
@given(case=mutated_file(FIXTURE_FILES, CLI_KINDS))
def test_cli_on_mutated_fixture_project(scratch, case):
    original, ops, content = case
    root = project_of(original)
    project = materialize(scratch / "project", root, original, content)
    event(ops.split(" ")[0])
    run_cli(project / next(p for p in SNAPSHOT if project_of(p) == root and p.parent.name == "scenarios")
            .relative_to(root), "sim run (fixtures)")


SHIPPED = {"jinan": [ROOT / "scenarios" / "jinan-2025.yaml", ROOT / "models" / "industry.yaml",
                     ROOT / "calibration" / "params" / "jinan.yaml", ROOT / "calibration" / "data" / "jinan.csv",
                     ROOT / "calibration" / "data" / "china.csv"]}


@settings(FUZZ, max_examples=40)
@given(case=mutated_file(SHIPPED["jinan"], CLI_KINDS))
def test_cli_on_mutated_shipped_project(scratch, case):
    original, ops, content = case
    project = materialize(scratch / "shipped", ROOT, original, content)
    event(ops.split(" ")[0])
    run_cli(project / "scenarios" / "jinan-2025.yaml", "sim run (shipped)")


# --- 4. argument vectors --------------------------------------------------------------------------
# Every command with random options and values, valid and not, in a copy of the fixture project.
# Values are drawn so that an accepted run stays small (no paths count above a few thousand is
# well-formed), and the options that start clusters are left to tests/test_cli_contract.py.

NUMBERS = st.sampled_from(["0", "1", "2", "-1", "-5", "0.5", "1.5", "1e3", "nan", "inf", "-inf", "",
                           "abc", "2000", "99999999999999", "0x10", "1_000", " 3", "３", "1,000"])
DATES = st.sampled_from(["2022-06-30", "2021-01-20", "1900-01-01", "2099-12-31", "2023-02-30",
                         "20230101", "today", ""])
PLACES = st.sampled_from(["out.png", "out/x.png", "calibration", "scenarios/testland-2023.yaml",
                          "/proc/x.png", "x.nc", "x.zarr", "x.txt", "rep", "", "-"])
POSITIONAL = st.sampled_from(["scenarios/testland-2023.yaml", "scenarios/testland-2023.yaml", "missing.yaml",
                              "scenarios", "doc.txt", "calibration/data/testland.csv", "", "-"])
OPTIONS = {
    "--paths": NUMBERS, "--seed": NUMBERS, "--threads": NUMBERS, "--keep": NUMBERS, "--as-of": DATES,
    "--lang": st.sampled_from(["en", "zh", "fr", ""]), "--json": None, "--antithetic": None,
    "--levels": st.lists(NUMBERS, min_size=1, max_size=3), "--scenario": st.sampled_from(["base", "nope", ""]),
    "--scenarios": st.lists(st.sampled_from(["base", "shifted", "nope"]), min_size=1, max_size=3),
    "--chart": PLACES, "-o": PLACES, "--force": None, "--shift": st.lists(NUMBERS, min_size=1, max_size=3),
    "--vol": st.lists(NUMBERS, min_size=1, max_size=3), "--process": st.sampled_from(["g", "nope", ""]),
    "--local": None, "--region": st.sampled_from(["Testland", "Nowhere", ""]),
    "--model": st.sampled_from(["ar1", "industry", "../x", ""]), "--root": st.sampled_from([".", "missing", ""]),
    "--years": st.lists(NUMBERS, min_size=2, max_size=2), "--date": DATES,
    "--year": NUMBERS, "--vintage": st.sampled_from(["mid_year", "year_start", "never"]),
    "--mixture": POSITIONAL, "--bogus": None,
}
# values a user would give: half the vectors draw only these, so that many runs get to the end
VALID = {"--paths": st.sampled_from(["200", "400"]), "--seed": st.sampled_from(["0", "7"]),
         "--threads": st.sampled_from(["1", "2"]), "--keep": st.sampled_from(["10", "200"]),
         "--as-of": st.sampled_from(["2022-06-30", "2021-01-20"]), "--lang": st.sampled_from(["en", "zh"]),
         "--levels": st.just(["0.5", "0.9"]), "--scenario": st.just("shifted"),
         "--scenarios": st.just(["base", "shifted"]), "--chart": st.sampled_from(["out.png", "c.png"]),
         "-o": st.sampled_from(["rep", "x.nc"]), "--shift": st.just(["0", "0.01"]), "--vol": st.just(["1", "2"]),
         "--process": st.just("g"), "--region": st.just("Testland"), "--model": st.just("ar1"),
         "--root": st.just("."), "--years": st.just(["2022", "2022"]), "--date": st.just("2023-01-15"),
         "--year": st.just("2023"), "--vintage": st.just("mid_year"),
         "--mixture": st.just("scenarios/testland-2023.yaml")}
# a small paths count for the runs that would otherwise take the default
SMALL = ("run", "required", "sensitivity", "compare", "report", "sweep", "backtest")


@st.composite
def argv(draw) -> list[str]:
    from sim import cli

    commands = next(a for a in cli._parser()._actions if a.__class__.__name__ == "_SubParsersAction").choices
    name = draw(st.sampled_from(sorted(commands)))
    known = {o for a in commands[name]._actions for o in a.option_strings} - {"-h", "--help"}
    valid = draw(st.booleans())
    # mostly the command's own options, sometimes another command's
    pool = sorted(known) if valid else sorted(known) * 3 + sorted(OPTIONS)
    first = {"extract": "doc.txt", "calibrate": None}.get(name, "scenarios/testland-2023.yaml")
    vector = [name, *([first] if valid and first else draw(st.lists(POSITIONAL, min_size=0, max_size=2)))]
    for option in draw(st.lists(st.sampled_from(pool), max_size=5, unique=True)):
        key = {"--out": "-o", "--output": "-o"}.get(option, option)
        values = (VALID if valid else OPTIONS).get(key, OPTIONS.get(key))
        vector.append(option)
        if values is not None:
            value = draw(values)
            vector += value if isinstance(value, list) else [value]
    if valid and name == "sweep" and "--process" not in vector:
        vector += ["--process", "g"]  # the default process is the industry model's
    if name in SMALL and "--paths" not in vector:
        vector += ["--paths", "200"]
    return vector


@settings(FUZZ, max_examples=400)
@given(vector=argv())
def test_random_argument_vectors(scratch, vector):
    """Exit 0, or 2 with one line; nothing half-written or left behind in the project."""
    if "--workers" in vector or "--scheduler" in vector or ("sweep" == vector[0] and "--local" not in vector):
        vector = [*vector, "--local"]  # never a cluster here
    project = _fresh(scratch / "argv")
    shutil.copytree(FIXTURE, project, dirs_exist_ok=True)
    (project / "doc.txt").write_text("2023年，规模以上工业增加值增长6.5%左右。", encoding="utf-8")
    before = {p.relative_to(project) for p in project.rglob("*")}
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(project), warnings.catch_warnings(record=True) as caught, \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        warnings.simplefilter("always")
        try:
            code = main(vector)
        except SystemExit as stop:  # only --help may end the parser this way
            code = stop.code
    lines = [line for line in err.getvalue().splitlines() if not line.startswith("sim: compiling")]
    warned = [f"{w.category.__name__}: {w.message}" for w in caught]
    assert code in (0, 2), f"{vector}: exit {code}: {err.getvalue()}"
    if code == 2:
        assert len(lines) == 1 and lines[0].startswith("sim: error: "), (vector, lines)
        assert {p.relative_to(project) for p in project.rglob("*")} == before, vector
    else:
        assert not any("Traceback" in line or "internal error" in line for line in lines), (vector, lines)
    assert warned == [], (vector, warned)
    leftovers = [p.name for p in project.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".")]
    assert leftovers == [], (vector, leftovers)
    _count("sim argv", f"{vector[0]} exit {code}")
