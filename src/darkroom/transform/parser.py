"""URL text → `Chain`: a splitter that knows no meanings, then the key table.

    parse("c_fill,g_auto,w_300,h_200/e_sepia")
    -> Chain((Component(crop="fill", gravity="auto", width=Pixels(300), height=Pixels(200)),
              Component(effects=(Effect("sepia"),))))

Input is the transformation part of the path as it appears in the URL (not yet
percent-decoded): text layers carry `%252C` for a comma and are decoded here.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from darkroom.transform.ast import Chain, Component, Flag, Variable
from darkroom.transform.errors import ParseError
from darkroom.transform.expressions import VARIABLE_NAME, is_expression
from darkroom.transform.params import AUTO_GRAVITY_CROPS, BY_KEY, CONDITION_KEY, NAMED_KEY

NamedResolver = Callable[[str], "str | None"]

MAX_LENGTH = 4096  # characters of transformation text
MAX_COMPONENTS = 64  # after named transformations are expanded
MAX_NAMED_DEPTH = 8
_VARIABLE_ITEM = re.compile(r"(\$[A-Za-z][A-Za-z0-9]{0,40})_(.+)", re.S)
_NAMED = re.compile(r"[A-Za-z0-9_\-]{1,100}")


def split_component(text: str) -> list[tuple[str, str]]:
    """`c_fill,w_300` → [("c", "fill"), ("w", "300")]; no meanings, only shape."""
    pairs = []
    for item in text.split(","):
        variable = _VARIABLE_ITEM.fullmatch(item)
        if variable:
            pairs.append((variable.group(1), variable.group(2)))
            continue
        key, sep, value = item.partition("_")
        if not sep or not key or not value:
            raise ParseError(f"Invalid transformation parameter - {item}", param=item)
        pairs.append((key, value))
    return pairs


def looks_like_transformation(segment: str) -> bool:
    """Is this URL path segment a transformation component rather than part of a public_id?

    True only if every `,`-item is `key_value` with a known key, a `$variable` or `if_`.
    Pass the segment as it appears in the URL (not percent-decoded): a text layer's comma
    is `%252C` there, and only decoding would turn it into a `,` that splits the item.
    """
    if not segment:
        return False
    try:
        pairs = split_component(segment)
    except ParseError:
        return False
    return all(key in BY_KEY or key in (NAMED_KEY, CONDITION_KEY) or key.startswith("$") for key, _ in pairs)


def _condition(value: str) -> str:
    if value in ("else", "end") or is_expression(value):
        return value
    raise ParseError(f"Invalid condition - {value}", param=CONDITION_KEY)


def _variable(name: str, value: str) -> Variable:
    if not VARIABLE_NAME.fullmatch(name) or not is_expression(value):
        raise ParseError(f"Invalid variable - {name}_{value}", param=name)
    return Variable(name, value)


def _check_combination(component: Component) -> None:
    """Reject what Cloudinary rejects as an invalid combination."""
    gravity = component.gravity or ""
    if (
        gravity.split(":")[0] == "auto"
        and component.crop is not None
        and component.crop not in AUTO_GRAVITY_CROPS
        and component.overlay is None
        and component.underlay is None
    ):
        raise ParseError("Use auto gravity only with crop, fill, lfill, fill_pad or thumb", param="g")


def _component(text: str) -> tuple[Component, list[str]]:
    """One component, plus the named transformations it references (expanded by the caller)."""
    fields: dict[str, Any] = {}
    variables: list[Variable] = []
    named: list[str] = []
    for key, value in split_component(text):
        if key.startswith("$"):
            variables.append(_variable(key, value))
        elif key == CONDITION_KEY:
            fields["condition"] = _condition(value)
        elif key == NAMED_KEY:
            names = value.split(".")
            if not all(_NAMED.fullmatch(name) for name in names):
                raise ParseError(f"Invalid transformation - {value}", param=key)
            named.extend(names)
        elif key in BY_KEY:
            param = BY_KEY[key]
            parsed = param.parse(key, value)
            if param.repeats:
                more = parsed if isinstance(parsed, tuple) else (parsed,)
                fields[param.field] = fields.get(param.field, ()) + more
            else:
                fields[param.field] = parsed
        else:
            raise ParseError(f"Invalid transformation parameter - {key}", param=key)
    if "flags" in fields:
        fields["flags"] = tuple(sorted(set(fields["flags"]), key=_flag_order))
    component = Component(variables=tuple(variables), **fields)
    _check_combination(component)
    return component, named


def _flag_order(flag: Flag) -> tuple[str, str]:
    return (flag.name, flag.arg or "")


def _components(text: str, named: NamedResolver | None, stack: tuple[str, ...]) -> list[Component]:
    result: list[Component] = []
    for part in text.split("/"):
        component, names = _component(part)
        for name in names:
            result.extend(_expand(name, named, stack))
        if not component.is_empty or not names:
            result.append(component)
    return result


def _expand(name: str, named: NamedResolver | None, stack: tuple[str, ...]) -> list[Component]:
    if name in stack or len(stack) >= MAX_NAMED_DEPTH:
        raise ParseError(f"Named transformation {name} refers to itself", param=NAMED_KEY)
    definition = named(name) if named is not None else None
    if definition is None:
        raise ParseError(f"Invalid transformation - t_{name}", param=NAMED_KEY, detail="unknown named transformation")
    if definition == "":
        return []
    return _components(definition, named, stack + (name,))


def parse(text: str, *, named: NamedResolver | None = None) -> Chain:
    """Parse transformation text (components joined by `/`) into a `Chain`.

    `named(name)` returns the definition of the named transformation `t_name`, or None
    when there is none (a ParseError); definitions may nest, cycles are refused.
    """
    if not isinstance(text, str):
        raise TypeError("transformation text must be str")
    if len(text) > MAX_LENGTH:
        raise ParseError("Transformation is too long", param=None, detail=f"{len(text)} characters")
    if text == "":
        return Chain(())
    components = _components(text, named, ())
    if len(components) > MAX_COMPONENTS:
        raise ParseError("Transformation has too many components", detail=f"{len(components)} components")
    return Chain(tuple(components))
