"""``make lint``'s companion to import-linter: what its layers contract cannot say.

1. Every module of Docket's apps belongs to exactly one layer of the contract in
   ``pyproject.toml`` (an app split across layers is listed by module, so a new module would
   otherwise be unchecked).
2. No module imports another app's private name (``from evidence.services import _x``).

Exits non-zero naming each problem.
"""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules(package: str) -> list[str]:
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found.append(".".join(parts))
    return found


def _layer_modules(config: dict) -> list[str]:
    listed = []
    for contract in config["contracts"]:
        if contract["type"] != "layers":
            continue
        for layer in contract["layers"]:
            for part in layer.replace("|", ":").split(":"):
                listed.append(part.strip())
    return listed


def _covering(module: str, listed: list[str]) -> list[str]:
    return [m for m in listed if module == m or module.startswith(m + ".")]


def check() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    listed = _layer_modules(config)
    problems = []
    apps = config["root_packages"]
    for package in apps:
        for module in _modules(package):
            covering = _covering(module, listed)
            if not covering and _empty_container(module, listed):
                continue  # the package of modules listed in several layers, importing nothing
            if not covering:
                problems.append(f"{module} is in no layer of the import-linter contract")
            elif len(covering) > 1:
                problems.append(f"{module} is in several layers: {', '.join(covering)}")
            problems.extend(_private_imports(module, apps))
    return problems


def _path(module: str) -> Path:
    path = ROOT / Path(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _empty_container(module: str, listed: list[str]) -> bool:
    if not any(m.startswith(module + ".") for m in listed):
        return False
    tree = ast.parse(_path(module).read_text())
    return not any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree))


def _private_imports(module: str, apps: list[str]) -> list[str]:
    path = _path(module)
    own = module.split(".")[0]
    problems = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
            continue
        app = node.module.split(".")[0]
        if app in apps and app != own:
            for alias in node.names:
                if alias.name.startswith("_"):
                    problems.append(
                        f"{module}:{node.lineno} imports {node.module}.{alias.name}, "
                        f"a private name of {app}"
                    )
    return problems


if __name__ == "__main__":
    found = check()
    for problem in found:
        print(problem, file=sys.stderr)
    print(f"layers: {'ok' if not found else f'{len(found)} problem(s)'}")
    sys.exit(1 if found else 0)
