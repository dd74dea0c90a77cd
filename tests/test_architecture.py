"""The package's layers, read from its imports: shared <- datasets <- nn <- output <- training |
writing <- tools | synthetic <- web <- cli. A module may import its own layer and the layers below it, never above;
training and writing never import each other (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "handwriting"

#: Rank of each layer; a module may import modules of equal or lower rank only.
#: ``output`` (pages, paper, SVG/PNG/PDF, plotter formats) needs nothing of the network and sits
#: below ``writing``, whose ``Hand.write`` returns a ``Drawing`` that saves itself.
LAYERS = {"shared": 0, "datasets": 1, "nn": 2, "output": 3, "training": 4, "writing": 4, "tools": 5, "synthetic": 5,
          "web": 6, "cli": 7}
#: Layers of equal rank that must stay independent of each other.
SIBLINGS = {frozenset({"training", "writing"})}
#: The public API (``__init__``: ``load``, ``Hand``) and ``python -m handwriting`` sit on top.
ENTRY_POINTS = {"handwriting", "handwriting.__main__", "handwriting.cli"}
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def layer_of(module: str) -> str:
    parts = module.split(".")
    if module in ENTRY_POINTS:
        return "cli"
    if len(parts) >= 2 and parts[1] in LAYERS:
        return parts[1]
    return "shared"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every ``handwriting`` module that ``path`` imports, at any depth of the file."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("handwriting")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("handwriting"):
                continue
            # `from pkg import name`: name may itself be a module of pkg.
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                is_module = (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists() or (
                    PACKAGE.parent / candidate.replace(".", "/")).is_dir()
                found.add(candidate if is_module else target)
    return found


def source_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_imports_run_one_way():
    violations = []
    for path in source_files():
        importer = module_name(path)
        for imported in imported_modules(path):
            a, b = layer_of(importer), layer_of(imported)
            if LAYERS[b] > LAYERS[a] or (a != b and frozenset({a, b}) in SIBLINGS):
                violations.append(f"{importer} ({a}) imports {imported} ({b})")
    assert not violations, "\n".join(violations)


def test_the_checker_sees_a_violation(tmp_path):
    assert layer_of("handwriting.nn.model") == "nn"
    assert layer_of("handwriting.strokes") == "shared"
    assert layer_of("handwriting.cli") == "cli"
    assert LAYERS[layer_of("handwriting.training.trainer")] > LAYERS[layer_of("handwriting.nn.model")]


@pytest.mark.parametrize("path", source_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_and_functions_stay_small(path):
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{path.name}: {len(text.splitlines())} lines"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{path.name}: {node.name} is {length} lines"
