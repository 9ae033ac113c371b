"""Conditional metadata rules through the Python SDK: kept, listed, changed, removed, checked."""

from __future__ import annotations

import cloudinary.api
import pytest
from cloudinary.exceptions import BadRequest, NotFound

from tests.admin.conftest import AdminCloud


def category_and_team(cloud: AdminCloud) -> None:
    """Two enum fields: choosing a category enables the team field."""
    cloudinary.api.add_metadata_field({
        "external_id": "category", "label": "Category", "type": "enum",
        "datasource": {"values": [{"external_id": "employee", "value": "Employee"}, {"external_id": "culture", "value": "Culture"}]},
    })
    cloudinary.api.add_metadata_field({
        "external_id": "team", "label": "Team", "type": "enum",
        "datasource": {"values": [{"external_id": "rnd", "value": "R&D"}, {"external_id": "hr", "value": "HR"}]},
    })


def test_a_rule_is_created_listed_updated_and_deleted(cloud: AdminCloud) -> None:
    category_and_team(cloud)
    created = cloudinary.api.add_metadata_rule({
        "metadata_field_id": "team",
        "name": "employees have a team",
        "condition": {"metadata_field_id": "category", "equals": "employee"},
        "result": {"enable": True, "activate_values": {"external_ids": ["rnd"]}},
    })
    rule_id = created["external_id"]
    assert created["state"] == "active"
    assert created["condition"] == {"metadata_field_id": "category", "equals": "employee"}
    assert cloudinary.api.list_metadata_rules()["metadata_rules"] == [dict(created)]

    updated = cloudinary.api.update_metadata_rule(rule_id, {"name": "paused", "state": "inactive"})
    assert (updated["name"], updated["state"], updated["result"]) == ("paused", "inactive", created["result"])

    assert cloudinary.api.delete_metadata_rule(rule_id)["success"] is True
    assert cloudinary.api.list_metadata_rules()["metadata_rules"] == []
    with pytest.raises(NotFound, match=f"Metadata rule {rule_id} not found"):
        cloudinary.api.delete_metadata_rule(rule_id)


def test_and_or_conditions_nest(cloud: AdminCloud) -> None:
    category_and_team(cloud)
    condition = {"or": [{"metadata_field_id": "category", "populated": True}, {"and": [{"metadata_field_id": "team", "includes": ["hr"]}]}]}
    created = cloudinary.api.add_metadata_rule({"metadata_field_id": "team", "name": "n", "condition": condition, "result": {"set_mandatory": True}})
    assert created["condition"] == condition


@pytest.mark.parametrize(
    ("rule", "error", "message"),
    [
        ({"name": "n", "condition": {"metadata_field_id": "category", "populated": True}, "result": {"enable": True}}, BadRequest, "Missing required parameter - metadata_field_id"),
        ({"metadata_field_id": "nope", "name": "n", "condition": {"metadata_field_id": "category", "populated": True}, "result": {"enable": True}}, NotFound, "Metadata field nope not found"),
        ({"metadata_field_id": "team", "name": "n", "condition": {"metadata_field_id": "ghost", "equals": "x"}, "result": {"enable": True}}, NotFound, "Metadata field ghost not found"),
        ({"metadata_field_id": "team", "name": "n", "condition": {"metadata_field_id": "category"}, "result": {"enable": True}}, BadRequest, "expected exactly one of populated, includes, equals"),
        ({"metadata_field_id": "team", "name": "n", "condition": {"metadata_field_id": "category", "populated": True}, "result": {"explode": True}}, BadRequest, "unknown key explode"),
        ({"metadata_field_id": "team", "condition": {"metadata_field_id": "category", "populated": True}, "result": {"enable": True}}, BadRequest, "Missing required parameter - name"),
        ({"metadata_field_id": "team", "name": "n", "result": {"enable": True}}, BadRequest, "Missing required parameter - condition"),
    ],
)
def test_a_rule_that_does_not_hold_together_is_refused_and_not_kept(cloud: AdminCloud, rule: dict[str, object], error: type[Exception], message: str) -> None:
    category_and_team(cloud)
    with pytest.raises(error, match=message):
        cloudinary.api.add_metadata_rule(rule)
    assert cloudinary.api.list_metadata_rules()["metadata_rules"] == []
