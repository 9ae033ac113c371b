"""The layering of docs/architecture.md, pinned: each part imports only the parts below it.

Every `import` and `from … import` in src/darkroom is read from the syntax tree (imports
under `if TYPE_CHECKING:` count too: a type is a dependency for a reader). A failure names
the module, the line and the rule it breaks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "darkroom"

# Which darkroom parts each part may import. A part is the first name under `darkroom`
# (`darkroom.api.upload` is part `api`); a top-level module is its own part.
BASE = {"config", "errors", "vocabulary"}
DOMAIN = {"transform", "imaging", "video", "addons", "storage", "catalog", "auth"}
ALLOWED: dict[str, set[str]] = {
    "cli": {"server", "media", "jobs", *DOMAIN, *BASE},
    "server": {"api", "console", "media", "jobs", "hit_lane", *DOMAIN, *BASE},
    "hit_lane": {"api", "media", *BASE},
    "api": {"media", "jobs", *DOMAIN, *BASE},
    "console": {"media", "jobs", *DOMAIN, *BASE},
    "media": {"jobs", *DOMAIN, *BASE},
    "jobs": {"storage", "catalog", "auth", *BASE},
    "imaging": {"transform", *BASE},
    "video": {"transform", "imaging", *BASE},
    "addons": {"imaging", *BASE},
    "transform": {*BASE},
    "storage": {*BASE},
    "catalog": {*BASE},
    "auth": {*BASE},
    "config": {"errors", "vocabulary"},
    "errors": set(),
    "vocabulary": set(),
    "__main__": {"cli"},
    "__init__": set(),
}

# Third-party libraries that belong to one layer: SQL in catalog, pixels in imaging/video,
# HTTP in the edges.
LIBRARY_OWNERS: dict[str, set[str]] = {
    "sqlalchemy": {"catalog"},
    "alembic": {"catalog"},
    "psycopg": {"catalog"},
    "pyvips": {"imaging", "video"},
    "cv2": {"imaging", "video", "addons"},
    "PIL": {"imaging", "video", "addons"},
    "av": {"video"},
    "starlette": {"api", "console", "server", "hit_lane"},
    "uvicorn": {"server", "cli", "hit_lane"},
    "jinja2": {"console"},
}


def part_of(module: Path) -> str:
    relative = module.relative_to(SRC)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imports_of(module: Path) -> list[tuple[int, str]]:
    """(line, absolute dotted name) of every import in `module`."""
    tree = ast.parse(module.read_text(), filename=str(module))
    package = ["darkroom", *module.relative_to(SRC).parent.parts]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if name == "darkroom":  # `from darkroom import catalog`: each module named is a part
                found.extend((node.lineno, f"darkroom.{alias.name}") for alias in node.names if _is_module(alias.name))
            else:
                found.append((node.lineno, name))
    return found


def _is_module(name: str) -> bool:
    """Whether `darkroom.<name>` is a package or module (not a name such as `__version__`)."""
    return (SRC / name).is_dir() or (SRC / f"{name}.py").is_file()


def modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def broken_rules(module: Path) -> list[str]:
    part = part_of(module)
    where = module.relative_to(SRC.parent)
    problems = []
    for line, name in imports_of(module):
        top, _, rest = name.partition(".")
        if top == "darkroom" and rest:
            target = rest.split(".")[0]
            if target != part and target not in ALLOWED[part]:
                problems.append(f"{where}:{line} imports {name}: {part} may not import {target}")
        elif top in LIBRARY_OWNERS and part not in LIBRARY_OWNERS[top]:
            problems.append(f"{where}:{line} imports {name}: only {sorted(LIBRARY_OWNERS[top])} use {top}")
    return problems


def test_every_part_is_in_the_table() -> None:
    parts = {part_of(module) for module in modules()}
    assert parts <= set(ALLOWED), f"parts without rules: {sorted(parts - set(ALLOWED))}"


# Parts that still break a rule while issue 11's move into `media` lands (strict: a part
# that starts passing must be taken off this list).
NOT_YET_LAYERED: set[str] = set()


@pytest.mark.parametrize("part", [
    pytest.param(part, marks=pytest.mark.xfail(reason="issue 11 in progress", strict=True)) if part in NOT_YET_LAYERED else part
    for part in sorted({part_of(module) for module in modules()})
])
def test_part_imports_only_what_its_layer_allows(part: str) -> None:
    problems = [problem for module in modules() if part_of(module) == part for problem in broken_rules(module)]
    assert not problems, "\n".join(problems)


def test_the_rules_catch_a_forbidden_import(tmp_path: Path) -> None:
    """The checker itself: an imaging module importing catalog is reported."""
    fake = SRC / "imaging" / "_layer_probe.py"
    try:
        fake.write_text("from darkroom.catalog import Asset\nimport sqlalchemy\nfrom . import formats\nfrom darkroom import catalog\nfrom .. import api\n")
        problems = broken_rules(fake)
    finally:
        fake.unlink()
    assert len(problems) == 4
    assert "imaging may not import catalog" in problems[2] and "imaging may not import api" in problems[3]
    assert "imaging may not import catalog" in problems[0]
    assert "sqlalchemy" in problems[1]
