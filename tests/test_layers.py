"""The layering in ../shared/DESIGN.md ("Parts"), pinned: each part's imports point down only.

Read from the source (every `import`, also those inside functions), so a forbidden import
fails here even on a path no other test runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "darkroom"

# part → modules it must never import (a name forbids the module and everything below it).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "media": ("darkroom.api", "darkroom.console", "darkroom.server", "darkroom.cli", "starlette", "sqlalchemy", "pyvips"),
    "console": ("darkroom.api", "darkroom.server", "darkroom.cli", "sqlalchemy", "pyvips"),
    "api": ("darkroom.console", "darkroom.server", "darkroom.cli", "pyvips"),
    "auth": ("darkroom.catalog", "darkroom.media", "darkroom.api", "darkroom.console", "darkroom.server", "starlette", "sqlalchemy"),
    "catalog": ("darkroom.media", "darkroom.api", "darkroom.console", "darkroom.server", "darkroom.imaging", "starlette", "pyvips"),
    "imaging": ("darkroom.catalog", "darkroom.media", "darkroom.api", "darkroom.console", "darkroom.server", "starlette", "sqlalchemy"),
    "storage": ("darkroom.catalog", "darkroom.media", "darkroom.api", "darkroom.console", "darkroom.server", "starlette", "sqlalchemy", "pyvips"),
    "transform": ("darkroom.catalog", "darkroom.media", "darkroom.api", "darkroom.console", "darkroom.server", "darkroom.imaging", "starlette", "sqlalchemy", "pyvips"),
}


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)  # `from darkroom import api`
    return modules


def _forbidden(module: str, rules: tuple[str, ...]) -> bool:
    return any(module == rule or module.startswith(rule + ".") for rule in rules)


@pytest.mark.parametrize("part", sorted(FORBIDDEN))
def test_a_part_imports_nothing_above_it(part: str) -> None:
    offences = [
        f"{path.relative_to(SRC)} imports {module}"
        for path in sorted((SRC / part).rglob("*.py"))
        for module in sorted(imported_modules(path))
        if _forbidden(module, FORBIDDEN[part])
    ]
    assert offences == []


def test_only_server_composes_both_edges() -> None:
    composers = [
        str(path.relative_to(SRC))
        for path in sorted(SRC.rglob("*.py"))
        if {"darkroom.api", "darkroom.console"} <= {".".join(module.split(".")[:2]) for module in imported_modules(path)}
    ]
    assert composers == ["server.py"]
