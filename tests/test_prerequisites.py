"""The README's set-up promise: its prerequisites table is true here, and a fresh clone's
`make install-test` is all the Node, browser and database tests need.

Each row of the README's "Prerequisites" table names a check command; running them here
keeps the table honest (a missing piece fails with the row's own "how to get it").
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def prerequisite_rows() -> list[dict[str, str]]:
    """The rows of the README's Prerequisites table, keyed by its header cells."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Prerequisites", 1)[1].split("\n#", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:  # lines[1] is the |---| rule
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def unquote(cell: str) -> str:
    return cell.strip().removeprefix("`").removesuffix("`")


def test_prerequisites_table_has_a_check_for_every_row() -> None:
    rows = prerequisite_rows()
    assert [key for key in rows[0]] == ["what", "needed for", "how to get it", "check"]
    whats = " ".join(row["what"] for row in rows)
    for piece in ("Python", "PostgreSQL", "Node.js", "Chromium"):
        assert piece in whats
    assert all(row["check"].startswith("`") and row["how to get it"] for row in rows)


@pytest.mark.parametrize("row", prerequisite_rows(), ids=lambda row: row["what"].split()[0])
def test_prerequisite_is_present(row: dict[str, str]) -> None:
    done = subprocess.run(unquote(row["check"]), shell=True, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{row['what']} is missing ({row['needed for']}): {row['how to get it']}"


# Tests that need a system piece, and the piece; in a fresh clone each must run, not skip.
SYSTEM_TESTS = [
    "tests/test_node_sdk.py",
    "tests/console/test_browser.py::test_sign_in_rejects_a_wrong_password_then_admits",
    "tests/search/test_search_database.py",
]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="needs git to clone the repository")
def test_fresh_clone_installs_and_runs_the_system_tests(tmp_path: Path) -> None:
    """`make install-test` in a clone of HEAD, then the Node, browser and PostgreSQL tests there."""
    clone = tmp_path / "darkroom"
    subprocess.run(["git", "clone", "--quiet", "--depth", "1", f"file://{ROOT}", str(clone)], check=True, timeout=120)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST", "VIRTUAL_ENV", "PYTHONPATH"))}
    install = subprocess.run(["make", "install-test"], cwd=clone, env=env, capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stdout + install.stderr
    assert (clone / "tests/node/node_modules/cloudinary").is_dir()
    run = subprocess.run(
        [str(clone / ".venv/bin/python"), "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *SYSTEM_TESTS],
        cwd=clone, env=env, capture_output=True, text=True, timeout=900,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "skipped" not in run.stdout.splitlines()[-1], run.stdout[-3000:]
    # The second install finds everything in place and changes nothing.
    again = subprocess.run(["make", "install-test"], cwd=clone, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "installing" not in again.stderr, again.stderr


def test_install_script_refuses_an_unknown_target() -> None:
    done = subprocess.run([str(ROOT / "tools/install.sh"), "deploy"], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "VENV": sys.prefix})
    assert done.returncode == 2 and "unknown target" in done.stderr
