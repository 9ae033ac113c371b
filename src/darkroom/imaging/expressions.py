"""Evaluating `if_` conditions, `$variables` and arithmetic values against an image.

Pure: the caller passes a tree the transformation language parsed (`Expression.parsed`)
and an environment mapping predefined names (`w`, `ih`, `fc`, …) to values or to
zero-argument callables (so face counting runs only when a URL asks). Operands are
evaluated left to right, so the first error a URL meets is the one reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Union

from darkroom.errors import BadRequest
from darkroom.transform import Cast, Literal, Lookup, Name, Node, Operation

Value = Union[float, str, bool, list[str]]
Env = Mapping[str, "Value | Callable[[], Value]"]


def _lookup(node: Lookup, env: Env) -> Value:
    """A value of the asset's context or metadata, "" when it has none."""
    found: object = env.get(node.source, {})
    values = found() if callable(found) else found
    return str(values.get(node.key, "")) if isinstance(values, Mapping) else ""


def _name(node: Name, env: Env) -> Value:
    if node.name not in env:
        raise BadRequest(f"Invalid expression - unknown variable {node.name}")
    value = env[node.name]
    return value() if callable(value) else value


def _number(value: Value) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float | int):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise BadRequest(f"Invalid expression - {value!r} is not a number")


def _apply(op: str, left: Value, right: Value) -> Value:
    if op in ("in", "nin"):
        haystack = right if isinstance(right, list) else str(right).split(":")
        found = all(item in haystack for item in str(left).split(":"))
        return found if op == "in" else not found
    if op in ("eq", "ne") and (isinstance(left, str) or isinstance(right, str)):
        return (str(left) == str(right)) == (op == "eq")
    a, b = _number(left), _number(right)
    if op in ("div", "mod") and b == 0:
        raise BadRequest("Invalid expression - division by zero")
    operations: dict[str, Callable[[], Value]] = {
        "or": lambda: bool(a) or bool(b),
        "and": lambda: bool(a) and bool(b),
        "eq": lambda: a == b, "ne": lambda: a != b, "lt": lambda: a < b, "gt": lambda: a > b,
        "lte": lambda: a <= b, "gte": lambda: a >= b,
        "add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b, "div": lambda: a / b,
        "mod": lambda: a % b, "pow": lambda: float(a**b) if abs(b) < 64 else _overflow(),
    }
    return operations[op]()


def _overflow() -> float:
    raise BadRequest("Invalid expression - number too large")


def evaluate(node: Node, env: Env) -> Value:
    """The value of an expression tree (`iw_div_2`, `w_gt_400_and_fc_gt_0`)."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Name):
        return _name(node, env)
    if isinstance(node, Operation):
        left = evaluate(node.left, env)
        return _apply(node.operator, left, evaluate(node.right, env))
    if isinstance(node, Cast):
        number = _number(evaluate(node.operand, env))
        return number if node.to == "f" else float(int(number))
    return _lookup(node, env)


def evaluate_number(node: Node, env: Env) -> float:
    return _number(evaluate(node, env))
