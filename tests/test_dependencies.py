"""Every third-party module the package imports is declared in pyproject.toml."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def declared_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements.extend(extra)
    names = {re.match(r"[A-Za-z0-9_.-]+", r).group(0) for r in requirements}
    return {n.lower().replace("_", "-") for n in names}


def guarded_imports(tree: ast.AST) -> set[int]:
    """Ids of import nodes inside ``try: ... except ImportError`` (optional, with a message)."""
    guarded = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
            for h in node.handlers
        ):
            guarded |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return guarded


def imported_top_level_modules() -> set[str]:
    """Top-level modules the package imports, less the standard library and optional imports."""
    found = set()
    for path in (ROOT / "handwriting").rglob("*.py"):
        tree = ast.parse(path.read_text())
        optional = guarded_imports(tree)
        for node in ast.walk(tree):
            if id(node) in optional:
                continue
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m != "handwriting"}


def test_every_imported_package_is_declared():
    declared = declared_distributions()
    providers = packages_distributions()
    missing = []
    for module in sorted(imported_top_level_modules()):
        distributions = {d.lower().replace("_", "-") for d in providers.get(module, [module])}
        if not distributions & declared:
            missing.append(f"{module} (from {', '.join(sorted(distributions))})")
    assert not missing, "imported but not declared in pyproject.toml: " + "; ".join(missing)
