"""docs/compatibility.md keeps up with the SDKs: every public function has a row, and every
test a row cites exists (run `tools/compatibility.py` to rewrite the file)."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "compatibility.md"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("compatibility", ROOT / "tools" / "compatibility.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def documented_rows() -> dict[str, dict[str, str]]:
    """`section.function` → {status, tests} for every row of the Python and Node tables."""
    rows: dict[str, dict[str, str]] = {}
    section = ""
    for line in DOC.read_text().splitlines():
        if line.startswith("### "):
            section = line[4:]
        elif line.startswith("| `"):
            name, state, _notes, tests = [cell.strip() for cell in line.strip("|").split("|")]
            rows[f"{section}.{name.strip('`')}"] = {"status": state, "tests": tests}
    return rows


def test_every_python_sdk_function_has_a_row() -> None:
    rows = documented_rows()
    surface = _generator().python_surface()
    missing = [f"{section}.{name}" for section, names in surface.items() for name in names if f"{section}.{name}" not in rows]
    assert not missing, f"run tools/compatibility.py: no row for {missing}"


def test_every_node_sdk_function_has_a_row() -> None:
    surface = _generator().node_surface()
    rows = documented_rows()
    missing = [f"node {section}.{name}" for section, names in surface.items() for name in names if f"node {section}.{name}" not in rows]
    assert not missing, f"run tools/compatibility.py: no row for {missing}"


def test_cited_tests_exist_and_working_rows_cite_one() -> None:
    for key, row in documented_rows().items():
        cited = re.findall(r"`([^`]+)`", row["tests"])
        if row["status"] == "works":
            assert cited, f"{key} is marked works without a test"
        for test in cited:
            path, _, function = test.partition("::")
            source = (ROOT / path).read_text()
            if function:
                names = {node.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)}
                assert function in names, f"{key} cites {test}, which does not exist"
