"""The Upload API's `eval` and `on_success`: Cloudinary's JavaScript snippets, run in QuickJS.

    upload_options = run_eval('upload_options["tags"] = "w" + resource_info["width"]',
                              {"width": 241, …}, {"tags": "a"})          # → {"tags": "w241"}
    updates = run_on_success('current_asset.update({tags: ["done"]})', asset_json, {…})
                                                                         # → [{"tags": ["done"]}]

Each run gets a fresh QuickJS context: no modules, no `std`/`os`, no network or files (a bare
engine has none), a CPU-time limit, a memory limit and a size cap on the script. What a
script may touch is the data handed in as JSON and read back as JSON; a script that throws,
runs too long or too big is the caller's 400 with the engine's message.

- `eval` sees `resource_info` (read-only: width, height, format, bytes, pages, resource_type,
  and the analyses measured) and `upload_options` (the upload's parameters as sent); what it
  sets among `EVAL_SETTABLE` changes how the upload is stored and answered.
- `on_success` sees `current_asset` (the upload's reply) and `event_info`; it acts through
  `current_asset.update({tags, context, metadata})`, applied once the script has finished.

Synchronous and CPU-bound: call from a worker thread (a context stays on the thread that made it).
"""

from __future__ import annotations

import json
from typing import Any

import quickjs

from darkroom.errors import Invalid

__all__ = ["EVAL_SETTABLE", "MAX_SCRIPT_CHARS", "ON_SUCCESS_UPDATABLE", "ScriptError", "check_script", "run_eval", "run_on_success"]

MAX_SCRIPT_CHARS = 16 * 1024  # a snippet, not a program
CPU_SECONDS = 0.5  # QuickJS counts process CPU time (clock()), so a busy server stops a script sooner, never later
MEMORY_BYTES = 32 * 1024 * 1024
STACK_BYTES = 256 * 1024

# upload_options an `eval` may set: the values darkroom stores and the analyses it measures.
EVAL_SETTABLE = ("tags", "context", "metadata", "colors", "phash", "faces", "quality_analysis")
# What `current_asset.update({...})` may change.
ON_SUCCESS_UPDATABLE = ("tags", "context", "metadata")


_PARSED = "darkroom: parsed"  # what the check throws before the script could run


class ScriptError(Invalid):
    """The script failed: its engine's message, a 400."""


def check_script(name: str, script: str) -> None:
    """Refuse a script that is too long or does not parse, before the upload stores anything."""
    if len(script) > MAX_SCRIPT_CHARS:
        raise ScriptError(f"{name} is too long (maximum is {MAX_SCRIPT_CHARS} characters)")
    # Parsed, never run: the whole source is parsed before any of it runs, and the first
    # statement throws, so nothing in the script runs even if its text closes the function
    # early (QuickJS's `new Function` pastes the body into a wrapper too, so it is no defence).
    try:
        _context().eval(f"throw {json.dumps(_PARSED)};\n(function () {{\n{script}\n}});")
    except quickjs.JSException as error:
        if _first_line(str(error)) != _PARSED:
            raise ScriptError(f"{name}: {_first_line(str(error))}") from None


def run_eval(script: str, resource_info: dict[str, Any], upload_options: dict[str, Any]) -> dict[str, Any]:
    """Run `eval`; returns the upload_options the script set or changed (only those).

    Setting a name outside EVAL_SETTABLE is refused, not ignored: an upload that silently
    did less than its script asked would look like success."""
    check_script("eval", script)
    context = _context()
    context.eval(f"const resource_info = {_frozen(resource_info)}; var upload_options = {_plain(upload_options)};")
    _run(context, "eval", _called(script))
    after = _read_json(context, "eval", "JSON.stringify(upload_options)")
    if not isinstance(after, dict):
        raise ScriptError("eval: upload_options must stay an object")
    changed = {name: value for name, value in after.items() if upload_options.get(name) != value}
    refused = sorted(name for name in changed if name not in EVAL_SETTABLE)
    if refused:
        raise ScriptError(f"eval cannot set upload_options[{refused[0]!r}]; it may set {', '.join(EVAL_SETTABLE)}")
    return changed


def run_on_success(script: str, current_asset: dict[str, Any], event_info: dict[str, Any]) -> list[dict[str, Any]]:
    """Run `on_success`; returns the `current_asset.update(...)` calls it made, in order."""
    check_script("on_success", script)
    context = _context()
    context.eval(
        f"const event_info = {_frozen(event_info)};"
        f"const __updates = [];"
        f"const current_asset = Object.assign({_plain(current_asset)}, {{update: function (changes) {{ __updates.push(JSON.stringify(changes)); }}}});"
    )
    _run(context, "on_success", _called(script))
    pushed = _read_json(context, "on_success", "JSON.stringify(__updates)")
    if not isinstance(pushed, list) or not all(isinstance(text, str) for text in pushed):
        raise ScriptError("on_success: current_asset.update() takes an object")
    updates = [json.loads(text) for text in pushed]
    for update in updates:
        if not isinstance(update, dict):
            raise ScriptError("on_success: current_asset.update() takes an object")
        refused = sorted(name for name in update if name not in ON_SUCCESS_UPDATABLE)
        if refused:
            raise ScriptError(f"on_success cannot update {refused[0]!r}; it may update {', '.join(ON_SUCCESS_UPDATABLE)}")
    return updates


def _context() -> Any:
    context = quickjs.Context()
    context.set_memory_limit(MEMORY_BYTES)
    context.set_max_stack_size(STACK_BYTES)
    context.set_time_limit(CPU_SECONDS)
    return context


def _called(script: str) -> str:
    """The script as the body of a function, called (so `return` ends it early)."""
    return f"new Function({_js_string(script)})();"


def _run(context: Any, name: str, source: str) -> Any:
    """Evaluate `source` under the context's limits; its errors become 400s."""
    try:
        return context.eval(source)
    except quickjs.JSException as error:
        raise ScriptError(f"{name}: {_first_line(str(error))}") from None


def _read_json(context: Any, name: str, expression: str) -> Any:
    """Read a value back as JSON. Stringifying runs the script's getters and toJSON methods,
    so it is script code too: same limits, same 400s."""
    text = _run(context, name, expression)
    if not isinstance(text, str):  # `JSON.stringify` of undefined or a function
        raise ScriptError(f"{name}: the script left a value that is not JSON")
    return json.loads(text)


def _js_string(text: str) -> str:
    """Text as a JS string literal: JSON's, all non-ASCII escaped."""
    return json.dumps(text)


def _first_line(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else "script failed"
    return "the script ran too long" if line == "InternalError: interrupted" else line


def _plain(value: dict[str, Any]) -> str:
    """A JSON value as a JS expression (JSON is a JS literal; `JSON.parse` keeps `__proto__` a key)."""
    return f"JSON.parse({json.dumps(json.dumps(value))})"


def _frozen(value: dict[str, Any]) -> str:
    """A deep-frozen copy: the script can read it, not change it."""
    return (f"(function freeze(o) {{ Object.values(o).forEach(v => {{ if (v && typeof v === 'object') freeze(v); }});"
            f" return Object.freeze(o); }})({_plain(value)})")
