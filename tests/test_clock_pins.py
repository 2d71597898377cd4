"""Every test module that reads the current date or time pins the clock with time_machine.

A test that computes "today" from the real clock passes or fails depending on the day it
runs (a month end, a DST change, a leap day, a year boundary). This check reads every
module under `tests/` (AST, nothing is imported) and fails when one calls `timezone.now()`,
`timezone.localdate()`, `timezone.localtime()`, `date.today()`, `datetime.now()`,
`datetime.today()`, `datetime.utcnow()` or `time.time()` without pinning the clock.

A module counts as pinned when it uses `time_machine` itself (the module, or the pytest
fixture of that name), or when it uses a fixture that pins, defined in a `conftest.py` of
its folder or a parent folder. An autouse one pins every test module and conftest below
it, except a test module that opts out with a module-level `REAL_CLOCK = "<why>"`; a
helper module (neither `test_*.py` nor `conftest.py`) may run in another process, so it
pins the clock itself or is listed below.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

# Modules that read the clock only to measure durations, or in a process time_machine
# cannot reach; each with the reason.
ALLOWED: dict[str, str] = {
    "tests/loyalty/processes.py": (
        "runs in the worker processes of the concurrency test: time.time() stamps when each "
        "request started and finished, to measure overlap across processes"),
    "tests/core/test_rq_backend.py": (
        "a deferred task's run_after is compared with the real clock by RQ's scheduler in the "
        "worker process; the test waits for that moment to pass"),
    # Not exceptions: work in flight in another branch. Remove each entry once pinned.
    "tests/api/test_customers_api.py": "tests/api is being reworked in the secapi branch: pin it there",
    "tests/api/test_idempotency.py": "tests/api is being reworked in the secapi branch: pin it there",
}

# Calls that read the clock: (object name, attribute). "timezone" also matches
# `django.utils.timezone` imported under that name; `dt.datetime.now()` matches too.
CLOCK_CALLS = {
    ("timezone", "now"), ("timezone", "localdate"), ("timezone", "localtime"),
    ("date", "today"), ("datetime", "now"), ("datetime", "today"), ("datetime", "utcnow"),
    ("time", "time"), ("time", "time_ns"),
}
# `localdate(value)` / `localtime(value)` convert a given moment: only the bare call reads the clock.
READS_ONLY_WITHOUT_ARGS = {"localdate", "localtime"}


def _dotted(node: ast.expr) -> list[str]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return list(reversed(parts))


def clock_reads(tree: ast.AST) -> list[int]:
    """Line numbers of the calls in `tree` that read the current date or time."""
    # Names imported straight from a clock module: `from django.utils.timezone import now`.
    bare: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("django.utils.timezone", "time"):
            for alias in node.names:
                if alias.name in ("now", "localdate", "localtime", "time", "time_ns"):
                    bare.add(alias.asname or alias.name)
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        without_args = not node.args and not node.keywords
        if len(name) >= 2 and (name[-2], name[-1]) in CLOCK_CALLS:
            if name[-1] not in READS_ONLY_WITHOUT_ARGS or without_args:
                lines.append(node.lineno)
        elif len(name) == 1 and name[0] in bare and (name[0] not in READS_ONLY_WITHOUT_ARGS or without_args):
            lines.append(node.lineno)
    return sorted(lines)


def _mentions_time_machine(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "time_machine" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "time_machine":
            return True
        if isinstance(node, ast.arg) and node.arg == "time_machine":  # the pytest fixture
            return True
        if isinstance(node, ast.Name) and node.id == "time_machine":  # imported at module level
            return True
    return False


@dataclass
class Pins:
    """Fixtures of the conftest files that pin the clock."""

    autouse_dirs: set[Path] = field(default_factory=set)
    names: set[str] = field(default_factory=set)


def _is_fixture(decorator: ast.expr) -> tuple[bool, bool]:
    """(is a pytest fixture, is autouse)."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if _dotted(target)[-1:] != ["fixture"]:
        return False, False
    autouse = isinstance(decorator, ast.Call) and any(
        k.arg == "autouse" and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in decorator.keywords)
    return True, autouse


def pinning_fixtures(conftests: list[Path]) -> Pins:
    pins = Pins()
    for path in conftests:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for decorator in node.decorator_list:
                is_fixture, autouse = _is_fixture(decorator)
                if is_fixture and _mentions_time_machine(node):
                    pins.names.add(node.name)
                    if autouse:
                        pins.autouse_dirs.add(path.parent)
    return pins


def _uses_fixture(tree: ast.AST, names: set[str]) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.arg in names:
            return True
        if isinstance(node, ast.Constant) and node.value in names:  # usefixtures("…")
            return True
    return False


def _opts_out(tree: ast.Module) -> bool:
    """A module-level `REAL_CLOCK = …`: the autouse pin of its folder leaves it alone."""
    return any(isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "REAL_CLOCK"
                                                    for t in node.targets)
               for node in tree.body)


def unpinned_modules(root: Path = TESTS) -> dict[str, list[int]]:
    """{module: lines reading the clock} for the modules under `root` that do not pin it."""
    files = sorted(root.rglob("*.py"))
    pins = pinning_fixtures([p for p in files if p.name == "conftest.py"])
    found: dict[str, list[int]] = {}
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        lines = clock_reads(tree)
        if not lines:
            continue
        if _mentions_time_machine(tree) or _uses_fixture(tree, pins.names):
            continue
        in_pytest = path.name == "conftest.py" or path.name.startswith("test_")
        if in_pytest and not _opts_out(tree) and any(d in path.parents for d in pins.autouse_dirs):
            continue
        found[path.relative_to(root.parent).as_posix()] = lines
    return found


def test_every_module_reading_the_clock_pins_it():
    unpinned = {m: lines for m, lines in unpinned_modules().items() if m not in ALLOWED}
    assert not unpinned, (
        "These test modules read the current date or time without time_machine (pin the clock "
        "with @time_machine.travel or a fixture; see tests/test_clock_pins.py):\n"
        + "\n".join(f"  {m}: lines {', '.join(map(str, lines))}" for m, lines in unpinned.items()))


def test_the_allow_list_names_modules_that_still_read_the_clock():
    """An entry that no longer applies would silently let a new unpinned read through."""
    unpinned = unpinned_modules()
    stale = sorted(m for m in ALLOWED if m not in unpinned)
    assert not stale, f"remove from ALLOWED (they no longer read the clock unpinned): {stale}"


# --- the checker itself -----------------------------------------------------------------

@pytest.mark.parametrize("source, reads", [
    ("from django.utils import timezone\nx = timezone.now()", [2]),
    ("import datetime as dt\nx = dt.date.today()", [2]),
    ("from datetime import datetime\nx = datetime.now(tz=None)", [2]),
    ("from django.utils.timezone import now\nx = now()", [2]),
    ("import time\nx = time.time()", [2]),
    ("from django.utils import timezone\nx = timezone.localdate()", [2]),
    # Converting a given moment does not read the clock.
    ("from django.utils import timezone\nx = timezone.localdate(moment)", []),
    ("from django.utils import timezone\nx = timezone.localtime(moment)", []),
    ("from datetime import datetime\nx = datetime(2025, 3, 30)", []),
    ("import time\ntime.monotonic(); time.perf_counter(); time.sleep(1)", []),
])
def test_clock_reads_are_recognised(source, reads):
    assert clock_reads(ast.parse(source)) == reads


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


NOW_TEST = "from django.utils import timezone\n\ndef test_x():\n    assert timezone.now()\n"


def test_pins_by_import_fixture_argument_and_conftest(tmp_path):
    _write(tmp_path, {
        "a/test_unpinned.py": NOW_TEST,
        "a/test_decorated.py": "import time_machine\n" + NOW_TEST.replace(
            "def test_x", "@time_machine.travel('2025-03-30 01:30 +01:00')\ndef test_x"),
        "a/test_plugin_fixture.py": NOW_TEST.replace("test_x()", "test_x(time_machine)"),
        "b/conftest.py": ("import pytest\nimport time_machine\n\n@pytest.fixture\n"
                          "def clock():\n    with time_machine.travel(0):\n        yield\n"),
        "b/test_named_fixture.py": NOW_TEST.replace("test_x()", "test_x(clock)"),
        "b/test_without_fixture.py": NOW_TEST,
        "c/conftest.py": ("import pytest\n\n@pytest.fixture(autouse=True)\n"
                          "def _clock(time_machine):\n    time_machine.move_to(0)\n"),
        "c/deeper/test_below_autouse.py": NOW_TEST,
        "c/test_real_clock.py": 'REAL_CLOCK = "a server in another process"\n' + NOW_TEST,
        "c/helper.py": "import time\n\ndef stamp():\n    return time.time()\n",
    })
    assert unpinned_modules(tmp_path) == {
        f"{tmp_path.name}/a/test_unpinned.py": [4],
        f"{tmp_path.name}/b/test_without_fixture.py": [4],
        f"{tmp_path.name}/c/test_real_clock.py": [5],
        f"{tmp_path.name}/c/helper.py": [4],
    }
