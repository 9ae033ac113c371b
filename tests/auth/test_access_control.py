"""access_control rules read as Cloudinary's SDKs send them, and when they let anyone in."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from darkroom.auth.access_control import anonymous_for, parse_access_control
from darkroom.errors import Invalid

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def test_rules_are_read_from_a_list_or_one_object_with_dates_in_utc() -> None:
    assert parse_access_control(json.dumps([{"access_type": "token"}, {"access_type": "anonymous", "start": "2026-12-01T10:00+02:00"}])) == [
        {"access_type": "token"}, {"access_type": "anonymous", "start": "2026-12-01T08:00:00Z"},
    ]
    assert parse_access_control('{"access_type": "anonymous", "end": "2027-01-01"}') == [{"access_type": "anonymous", "end": "2027-01-01T00:00:00Z"}]
    assert parse_access_control("[]") == []


@pytest.mark.parametrize("text, wording", [
    ("not json", "not a JSON list"),
    ('[{"access_type": "public"}]', "anonymous or token"),
    ('[{"access_type": "anonymous", "start": "soon"}]', "ISO 8601"),
    ('[{"access_type": "anonymous", "start": "2027-01-02", "end": "2027-01-01"}]', "start must be before end"),
    ('[{"access_type": "token", "end": "2027-01-01"}]', "anonymous rules only"),
    ('[{"access_type": "anonymous", "until": "2027-01-01"}]', "unknown key until"),
    ('"anonymous"', "JSON list"),
])
def test_bad_rules_are_refused_naming_the_problem(text: str, wording: str) -> None:
    with pytest.raises(Invalid, match=wording):
        parse_access_control(text)


def test_an_anonymous_rule_lets_anyone_in_between_its_dates_only() -> None:
    window = parse_access_control(json.dumps([{"access_type": "anonymous", "start": "2026-12-05T11:00:00Z", "end": "2026-12-05T13:00:00Z"}]))
    assert anonymous_for(window, NOW) == 3600
    assert anonymous_for(window, NOW - timedelta(hours=2)) is None  # not yet
    assert anonymous_for(window, NOW + timedelta(hours=1)) is None  # over (the end is excluded)
    assert anonymous_for(parse_access_control('[{"access_type": "anonymous"}]'), NOW) == math.inf
    assert anonymous_for(parse_access_control('[{"access_type": "token"}]'), NOW) is None
    assert anonymous_for([], NOW) is None
