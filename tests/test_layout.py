"""The layout of the tests: what they share is in ``tests/support``; no test module imports from
another test module (nor from a ``conftest``), so moving or deleting one never breaks another."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imported(path: Path, root: Path) -> list[tuple[int, str]]:
    """(line, module) for every module ``path`` imports, relative imports resolved."""
    package = list(path.relative_to(root.parent).parent.parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.append((node.lineno, module))
            # ``from . import test_x`` imports the module test_x.
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def imports_of_test_modules(root: Path) -> list[str]:
    """Every import, under ``root`` (a ``tests`` package), of a test module or a conftest."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        where = path.relative_to(root.parent)
        for line, module in sorted(set(_imported(path, root))):
            parts = module.split(".")
            if parts[0] != root.name:
                continue
            for i, part in enumerate(parts[1:], start=2):
                if part.startswith("test_") or part == "conftest":
                    problem = f"{where}:{line} imports {'.'.join(parts[:i])}"
                    if problem not in problems:
                        problems.append(problem)
                    break
    return problems


def test_no_test_module_imports_from_another():
    assert imports_of_test_modules(TESTS) == [], "move what is shared into tests/support"


def test_the_check_finds_each_way_of_importing_a_test_module(tmp_path):
    root = tmp_path / "tests"
    (root / "browser").mkdir(parents=True)
    (root / "support").mkdir()
    (root / "test_a.py").write_text(
        "from .test_b import x\n"
        "from . import test_b\n"
        "from tests.test_b import x\n"
        "import tests.test_b\n"
        "from .conftest import y\n"
        "from .support.alerts import rule_alert\n"
        "from tests.support import data\n"
        "import pytest\n"
    )
    (root / "browser" / "test_c.py").write_text(
        "def f():\n    from ..test_b import x\n\nfrom .test_d import z\n"
    )
    (root / "support" / "alerts.py").write_text("from ..test_b import x\n")
    assert imports_of_test_modules(root) == [
        "tests/browser/test_c.py:2 imports tests.test_b",
        "tests/browser/test_c.py:4 imports tests.browser.test_d",
        "tests/support/alerts.py:1 imports tests.test_b",
        "tests/test_a.py:1 imports tests.test_b",
        "tests/test_a.py:2 imports tests.test_b",
        "tests/test_a.py:3 imports tests.test_b",
        "tests/test_a.py:4 imports tests.test_b",
        "tests/test_a.py:5 imports tests.conftest",
    ]
