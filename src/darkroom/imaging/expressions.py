"""Evaluating `if_` conditions, `$variables` and arithmetic values against an image.

Pure: the caller passes an environment mapping predefined names (`w`, `ih`, `fc`, …) to
values or to zero-argument callables (so face counting runs only when a URL asks).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Union

from darkroom.errors import Invalid
from darkroom.transform.expressions import tokens

Value = Union[float, str, bool, list[str]]
Env = Mapping[str, "Value | Callable[[], Value]"]

# Binding power: higher binds tighter.
_PRECEDENCE = {
    "or": 1, "and": 2,
    "eq": 3, "ne": 3, "lt": 3, "gt": 3, "lte": 3, "gte": 3, "in": 3, "nin": 3,
    "add": 4, "sub": 4,
    "mul": 5, "div": 5, "mod": 5,
    "pow": 6,
}


def _operand(token: str, env: Env) -> Value:
    if token.startswith("!") and token.endswith("!"):
        return token[1:-1]
    if token.startswith(("ctx:!", "md:!")):  # a value from the asset's context or metadata
        source, _, key = token.partition(":")
        values = env.get(source, {})
        values = values() if callable(values) else values
        return str(values.get(key.strip("!"), "")) if isinstance(values, Mapping) else ""
    try:
        return float(token)
    except ValueError:
        pass
    if token not in env:
        raise Invalid(f"Invalid expression - unknown variable {token}")
    value = env[token]
    return value() if callable(value) else value


def _number(value: Value) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float | int):
        return float(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return float(value)
    raise Invalid(f"Invalid expression - {value!r} is not a number")


def _apply(op: str, left: Value, right: Value) -> Value:
    if op in ("in", "nin"):
        haystack = right if isinstance(right, list) else str(right).split(":")
        found = all(item in haystack for item in str(left).split(":"))
        return found if op == "in" else not found
    if op in ("eq", "ne") and (isinstance(left, str) or isinstance(right, str)):
        return (str(left) == str(right)) == (op == "eq")
    a, b = _number(left), _number(right)
    if op in ("div", "mod") and b == 0:
        raise Invalid("Invalid expression - division by zero")
    result: Value = {
        "or": lambda: bool(a) or bool(b),
        "and": lambda: bool(a) and bool(b),
        "eq": lambda: a == b, "ne": lambda: a != b, "lt": lambda: a < b, "gt": lambda: a > b,
        "lte": lambda: a <= b, "gte": lambda: a >= b,
        "add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b, "div": lambda: a / b,
        "mod": lambda: a % b, "pow": lambda: float(a**b) if abs(b) < 64 else _overflow(),
    }[op]()
    return result


def _overflow() -> float:
    raise Invalid("Invalid expression - number too large")


def evaluate(text: str, env: Env) -> Value:
    """Evaluate a URL expression (`iw_div_2`, `w_gt_400_and_fc_gt_0`) with precedence."""
    parts = tokens(text)
    if not parts:
        raise Invalid(f"Invalid expression - {text}")
    values: list[Value] = []
    ops: list[str] = []

    def reduce() -> None:
        op = ops.pop()
        right, left = values.pop(), values.pop()
        values.append(_apply(op, left, right))

    for token in parts:
        if token in ("to_f", "to_i"):
            values[-1] = _number(values[-1]) if token == "to_f" else float(int(_number(values[-1])))
        elif token in _PRECEDENCE:
            while ops and (_PRECEDENCE[ops[-1]] > _PRECEDENCE[token] or (_PRECEDENCE[ops[-1]] == _PRECEDENCE[token] and token != "pow")):
                reduce()
            ops.append(token)
        else:
            values.append(_operand(token, env))
    while ops:
        reduce()
    return values[0]


def evaluate_number(text: str, env: Env) -> float:
    return _number(evaluate(text, env))
