"""Cloudinary's `access_control`: who may fetch an asset, and when.

The parameter (of upload and of the Admin API's update) is a JSON list of rules, each `{"access_type": "anonymous"}` with an optional `start` and `end` (ISO 8601), or
`{"access_type": "token"}`. An asset with rules is delivered to anyone only while one of its
anonymous rules is in force; at any other time it needs what the token rule asks for.
Cloudinary's tokens (`__cld_token__`, made by `generate_auth_token`) are not darkroom's: here
a signed URL (`s--…--`) stands in for them, as it does for an `authenticated` asset.

An embargoed asset (`start` in the future) is therefore private until `start`, and one with
an `end` stops being public then: what an app using access_control relies on.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from darkroom.errors import Invalid

__all__ = ["ACCESS_TYPES", "Rule", "anonymous_for", "parse_access_control"]

ACCESS_TYPES = ("anonymous", "token")
MAX_RULES = 20

Rule = dict[str, str]  # {"access_type": …, "start": …, "end": …} as stored and answered


def parse_access_control(text: str) -> list[Rule]:
    """The rules of an `access_control` parameter (a JSON list, or one rule as an object),
    with dates written back in UTC as `YYYY-MM-DDTHH:MM:SSZ`; Invalid names the problem."""
    try:
        value: Any = json.loads(text)
    except ValueError:
        raise Invalid("Invalid access_control - not a JSON list of rules") from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or len(value) > MAX_RULES:
        raise Invalid(f"Invalid access_control - a JSON list of at most {MAX_RULES} rules is expected")
    return [_rule(item) for item in value]  # an empty list: no rules (the asset's access mode alone decides)


def _rule(item: Any) -> Rule:
    if not isinstance(item, dict) or item.get("access_type") not in ACCESS_TYPES:
        raise Invalid("Invalid access_control - each rule needs an access_type of anonymous or token")
    unknown = set(item) - {"access_type", "start", "end"}
    if unknown:
        raise Invalid(f"Invalid access_control - unknown key {sorted(unknown)[0]}")
    rule: Rule = {"access_type": item["access_type"]}
    for bound in ("start", "end"):
        if item.get(bound) is not None:
            if item["access_type"] != "anonymous":
                raise Invalid(f"Invalid access_control - {bound} applies to anonymous rules only")
            rule[bound] = _instant(item[bound], bound).strftime("%Y-%m-%dT%H:%M:%SZ")
    if "start" in rule and "end" in rule and rule["start"] >= rule["end"]:
        raise Invalid("Invalid access_control - start must be before end")
    return rule


def _instant(value: Any, bound: str) -> datetime:
    if not isinstance(value, str):
        raise Invalid(f"Invalid access_control - {bound} must be an ISO 8601 date")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"Invalid access_control - {bound} must be an ISO 8601 date, not {value[:40]!r}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def anonymous_for(rules: Sequence[Rule], now: datetime) -> float | None:
    """Seconds from `now` (an aware datetime) that anyone may still fetch the asset: `math.inf`
    under an anonymous rule without an end, None when no anonymous rule is in force."""
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # stored dates are in this form: compared as text
    left: float | None = None
    for rule in rules:
        if rule.get("access_type") != "anonymous" or rule.get("start", "") > stamp or (rule.get("end") and stamp >= rule["end"]):
            continue
        end = rule.get("end")
        lasts = math.inf if not end else (_instant(end, "end") - now).total_seconds()
        left = lasts if left is None else max(left, lasts)
    return left
