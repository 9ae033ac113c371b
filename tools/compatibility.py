"""Write docs/compatibility.md: every public function of the official SDKs, and the tests that
drive darkroom through it.

    .venv/bin/python tools/compatibility.py          # rewrite docs/compatibility.md
    .venv/bin/python tools/compatibility.py --check  # exit 1 if the file is out of date

The rows come from the installed SDKs themselves (Python `cloudinary`: uploader, api, utils,
Search and SearchFolders; Node `cloudinary` in tests/node: uploader and api), so a new SDK
version shows its new functions as rows. A function's tests are found by reading the test
files: a Python test function that calls `cloudinary.<module>.<function>(…)` (or a method of
`Search`), or a Node script under tests/ that calls `api.<function>(…)`/`uploader.<function>(…)`.
`NOTES` holds what reading the tests cannot tell: documented differences and refusals.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from types import ModuleType

import cloudinary
import cloudinary.api
import cloudinary.search
import cloudinary.search_folders
import cloudinary.uploader
import cloudinary.utils

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "compatibility.md"
TESTS = ROOT / "tests"
NODE_DIR = TESTS / "node"

# utils functions whose result is a request or URL darkroom answers; the rest of utils only
# shapes parameters on the client.
SERVED_UTILS = {
    "api_sign_request", "cloudinary_api_download_url", "cloudinary_api_url", "cloudinary_scaled_url",
    "cloudinary_url", "download_archive_url", "download_backedup_asset", "download_folder",
    "download_zip_url", "generate_auth_token", "private_download_url", "sign_request",
    "signed_preloaded_image", "unsigned_download_url_prefix", "verify_api_response_signature",
    "verify_notification", "verify_notification_signature", "zip_download_url", "base_api_url",
}

# What the tests cannot say. "difference" rows are served with a documented difference.
NOTES: dict[str, str] = {
    "api.usage": "difference: darkroom counts its own requests, bandwidth and storage; credits are not modelled",
    "utils.cloudinary_url": "difference: `secure=True` URLs need darkroom served over TLS (`--tls-cert`)",
    "api.visual_search": "difference: ranked by darkroom's own perceptual-hash and colour distance over images uploaded with `visual_search=true`; `text` is refused (400)",
    "api.resource": "difference: `accessibility_analysis` and `cinemagraph_analysis` are darkroom's own measures in Cloudinary's shape",
    "api.publish_by_ids": "difference: publishes `private`/`authenticated` assets as `upload` with public access_mode; `invalidate` has no CDN to purge",
    "api.publish_by_prefix": "difference: as publish_by_ids",
    "api.publish_by_tag": "difference: as publish_by_ids",
    "uploader.upload": "difference: `eval` may set tags, context, metadata and the analyses darkroom measures (others are a 400); `on_success` runs before the reply, which shows its effect; `access_control` token rules are met by a signed URL (no auth tokens)",
    "api.update": "difference: `access_control` token rules are met by a signed URL (darkroom has no auth tokens)",
    "api.create_trigger": "difference: `uri_type` `webhook` only (`flow` and `poll` deliver inside Cloudinary's own services)",
    "api.test_trigger": "difference: darkroom's triggers have no filters, so every sample passes",
    "api.analyze": "refused: 404 `The Analyze API is not supported by darkroom` (no AI analysis models); the SDK raises NotFound",
    "api.notifications": "refused: 404 `The notifications buffer is not supported by darkroom` (notifications are delivered by webhook only); the SDK raises NotFound",
    "api.ack_notifications": "refused: as notifications",
    "uploader.create_slideshow": "refused: 404 `create_slideshow is not supported by darkroom`; the SDK raises NotFound",
    "utils.generate_auth_token": "refused: token-based delivery auth is not implemented; a `__cld_token__` is ignored, so an `authenticated` asset needs a signed URL (`sign_url=True`) and answers 401 without one",
    "SearchFolders.to_url": "difference: the SDK leaves the endpoint out of the signed URL, so it runs as an asset search (as on Cloudinary); a folder-only expression is a 400",
    "uploader.call_api": "client-side: the SDK's internal request helper; every upload function that sends through it is tested",
    "uploader.call_cacheable_api": "client-side: internal helper, as call_api plus the SDK's local breakpoints cache",
    "uploader.call_context_api": "client-side: internal helper behind add_context/remove_all_context, which are tested",
    "uploader.call_tags_api": "client-side: internal helper behind add_tag/remove_tag/replace_tag/remove_all_tags, which are tested",
    "api.only": "client-side: picks keys from a dict; sends nothing",
    "api.transformation_string": "client-side: formats a transformation for the Admin API; sends nothing",
    "uploader.is_appengine_sandbox": "client-side: detects Google App Engine; sends nothing",
    "node uploader.upload_large_part": "client-side: the Node SDK exports it without an implementation; it fails before any request",
}


def python_surface() -> dict[str, list[str]]:
    """Section name → public function names, read from the installed Python SDK."""
    def functions(module: ModuleType) -> list[str]:
        return sorted(name for name, value in inspect.getmembers(module, inspect.isfunction)
                      if not name.startswith("_") and value.__module__ == module.__name__)

    def methods(cls: type) -> list[str]:
        return sorted(name for name, _ in inspect.getmembers(cls, inspect.isfunction) if not name.startswith("_"))

    return {
        "uploader": functions(cloudinary.uploader),
        "api": functions(cloudinary.api),
        "Search": methods(cloudinary.search.Search),
        "SearchFolders": methods(cloudinary.search_folders.SearchFolders),
        "utils": functions(cloudinary.utils),
    }


def node_surface() -> dict[str, list[str]]:
    """The Node SDK's uploader and api functions, or nothing when Node or the SDK is absent."""
    script = "const c = require('cloudinary').v2; console.log(JSON.stringify({uploader: Object.keys(c.uploader), api: Object.keys(c.api)}))"
    try:
        done = subprocess.run(["node", "-e", script], cwd=NODE_DIR, capture_output=True, text=True, timeout=60, check=True)
    except (OSError, subprocess.CalledProcessError):
        return {}
    found = json.loads(done.stdout)
    return {section: sorted(name for name in names if not name.startswith("_")) for section, names in found.items()}


def python_callers() -> dict[str, set[str]]:
    """`section.function` → the test ids (file::function) whose body calls it."""
    callers: dict[str, set[str]] = defaultdict(set)
    for path in sorted(TESTS.rglob("test_*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                test_id = f"{path.relative_to(ROOT)}::{node.name}"
                for called in _called_names(node, tree):
                    callers[called].add(test_id)
    return callers


def _called_names(function: ast.AST, module: ast.Module) -> set[str]:
    """SDK calls inside `function`, and inside the module's helper functions it calls."""
    helpers = {n.name: n for n in module.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("test_")}
    seen: set[str] = set()
    names: set[str] = set()
    pending = [function]
    while pending:
        for node in ast.walk(pending.pop()):
            if not isinstance(node, ast.Call):
                continue
            dotted = _dotted(node.func)
            match = re.match(r"^cloudinary\.(uploader|api|utils)\.(\w+)$", dotted)
            if match:
                names.add(f"{match[1]}.{match[2]}")
            elif isinstance(node.func, ast.Attribute) and _chain_root(node.func) in ("Search", "SearchFolders"):
                names.add(f"{_chain_root(node.func)}.{node.func.attr}")
            elif dotted in helpers and dotted not in seen:
                seen.add(dotted)
                pending.append(helpers[dotted])
    return names


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _chain_root(node: ast.AST) -> str:
    """`Search().expression(…).execute` → "Search" (the class a call chain starts from)."""
    while isinstance(node, (ast.Attribute, ast.Call)):
        node = node.value if isinstance(node, ast.Attribute) else node.func
    return node.id if isinstance(node, ast.Name) else ""


def node_callers() -> dict[str, set[str]]:
    callers: dict[str, set[str]] = defaultdict(set)
    for path in sorted(TESTS.rglob("*.mjs")):
        if "node_modules" in path.parts:
            continue
        for section, name in re.findall(r"\b(api|uploader)\.(\w+)\(", path.read_text()):
            callers[f"{section}.{name}"].add(str(path.relative_to(ROOT)))
    return callers


def note_for(key: str, prefix: str) -> str:
    """The note of `key`; a Node-only note ("node api.x") wins over the shared one in the Node table."""
    return NOTES.get(prefix + key) or NOTES.get(key, "")


def status(key: str, section: str, name: str, tests: set[str], prefix: str = "") -> str:
    if note_for(key, prefix):
        return note_for(key, prefix).split(":", 1)[0]
    if section == "utils" and name not in SERVED_UTILS:
        return "client-side"
    return "works" if tests else "not verified"


def table(surface: dict[str, list[str]], callers: dict[str, set[str]], prefix: str) -> list[str]:
    lines = []
    for section, names in surface.items():
        lines += [f"### {prefix}{section}", "", "| function | status | notes | tests |", "|---|---|---|---|"]
        for name in names:
            key = f"{section}.{name}"
            tests = callers.get(key, set())
            note = note_for(key, prefix).partition(":")[2].strip()
            shown = ", ".join(f"`{t}`" for t in sorted(tests)[:3]) + (f" (+{len(tests) - 3})" if len(tests) > 3 else "")
            lines.append(f"| `{name}` | {status(key, section, name, tests, prefix)} | {note} | {shown} |")
        lines.append("")
    return lines


def render() -> str:
    py_surface, py_callers = python_surface(), python_callers()
    node = node_surface()
    counts: dict[str, int] = defaultdict(int)
    for section, names in py_surface.items():
        for name in names:
            key = f"{section}.{name}"
            counts[status(key, section, name, py_callers.get(key, set()))] += 1
    summary = ", ".join(f"{count} {name}" for name, count in sorted(counts.items()))
    lines = [
        "# Compatibility with the official SDKs",
        "",
        "Generated by `tools/compatibility.py` from the installed SDKs "
        f"(Python `cloudinary` {cloudinary.VERSION}) and the test files; `tests/test_compatibility.py` "
        "fails when this file is out of date, so a new SDK function appears here as a row.",
        "",
        "Status: **works** — a test drives darkroom through this function; **difference** — works, "
        "with the difference noted; **refused** — darkroom answers with a Cloudinary-style error saying the feature is not supported; **client-side** — a helper that only shapes parameters on the "
        "client, with no request of its own; **not verified** — no test drives it yet.",
        "",
        f"Python SDK: {summary}.",
        "",
        "## Python SDK",
        "",
        *table(py_surface, py_callers, ""),
    ]
    if node:
        lines += ["## Node SDK", "", *table(node, node_callers(), "node ")]
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/compatibility.md is out of date")
    text = render()
    if parser.parse_args().check:
        return 0 if DOC.exists() and DOC.read_text() == text else 1
    DOC.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
