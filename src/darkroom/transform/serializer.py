"""AST → canonical URL text, the inverse of `parser.parse`.

Keys come out in the official SDKs' order (condition, variables, then alphabetical keys),
so a chain the SDK built usually canonicalises to the very string it sent.
`serialize` writes exactly what the AST holds (`parse(serialize(c)) == c`); the cache key,
`Chain.canonical()`, first folds defaults written out in the URL (`canonical.py`).
"""

from __future__ import annotations

from darkroom.transform.ast import Chain, Component
from darkroom.transform.effects import format_effect
from darkroom.transform.params import PARAMS


def serialize_component(component: Component) -> str:
    items: list[str] = []
    if component.condition is not None:
        items.append("if_" + component.condition)
    items.extend(f"{variable.name}_{variable.value}" for variable in component.variables)
    for param in PARAMS:
        value = getattr(component, param.field)
        if value is None or value == ():
            continue
        if param.field == "effects":
            items.extend("e_" + format_effect(effect) for effect in value)
        else:
            items.append(f"{param.key}_{param.format(value)}")
    return ",".join(items)


def serialize(chain: Chain) -> str:
    return "/".join(serialize_component(component) for component in chain.components)
