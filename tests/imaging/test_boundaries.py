"""Pixels read only the transformation language's public surface (DESIGN.md's table)."""

from __future__ import annotations

import ast
from pathlib import Path

import darkroom.imaging
import darkroom.transform

IMAGING = Path(darkroom.imaging.__file__).parent


def _imports(path: Path) -> set[tuple[str, str]]:
    """(module, name) for every `from module import name` and ("module", "") for `import module`."""
    found: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.update((node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update((alias.name, "") for alias in node.names)
    return found


def test_imaging_imports_transform_only_through_its_public_surface() -> None:
    modules = sorted(IMAGING.rglob("*.py"))
    assert len(modules) > 10
    for module in modules:
        for source, name in _imports(module):
            if source.startswith("darkroom.transform"):
                assert source == "darkroom.transform", f"{module.name} imports {source}"
                assert name in darkroom.transform.__all__, f"{module.name} imports {name}, not exported by transform"


def test_no_imaging_module_parses_transformation_text() -> None:
    for module in sorted(IMAGING.rglob("*.py")):
        for source, name in _imports(module):
            if source == "darkroom.transform":
                assert name not in ("parse", "parse_color"), f"{module.name} parses ({name})"


def test_imaging_and_transform_modules_stay_readable_in_one_sitting() -> None:
    for part in (IMAGING, Path(darkroom.transform.__file__).parent):
        for module in sorted(part.rglob("*.py")):
            assert module.stat().st_size <= 25_000, f"{module} is {module.stat().st_size} bytes"
            assert ast.get_docstring(ast.parse(module.read_text())), f"{module} says nothing about what it holds"
