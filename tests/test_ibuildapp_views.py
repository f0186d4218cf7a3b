"""Every view of every seeded iBuildApp record is its named schema exactly.

server/vendors/ibuildapp/views.py has one renderer per documented view, named after its schema
in specs/ibuildapp.yaml (`user_record` -> `UserRecord`). Each record the fixtures seed (and one
made through the API with only its required fields) is rendered through every view of its
table and validated against that schema: types, formats, minimums (no negative timestamps),
required keys, and no key the schema does not declare.
"""

from __future__ import annotations

import inspect

import jsonschema
import pytest
import yaml

from contract_tests.strict import undeclared_keys
from server.api import SPECS
from server.vendors.ibuildapp import views
from tests.test_ibuildapp import APP, BASE, TN, H

with open(SPECS / "ibuildapp.yaml", encoding="utf-8") as f:
    SPEC = yaml.safe_load(f)

# table -> the renderers of its views
VIEWS = {
    "users": "user_record group_member user_item user_ref user_name user_contact user_member entry_user",
    "groups": "group_record team",
    "clients": "client_record client_item client_group_item client_ref client_name",
    "projects": "project_record project_group_item project_ref project_tasks project_work",
    "tasks": "task_record task_item task_summary project_task task_ref entry_task",
    "time_entries": "current_entry history_entry task_entry work_entry entry_record entry_item",
    "breaks": "break_item entry_break",
    "invoices": "invoice_record",
    "schedules": "schedule_record",
    "rates": "rate_record",
    "comments": "comment",
}
# The least each table's create operation takes: a record with every optional field unset.
BARE = {
    "users": ("user/create", {"email": "bare@site.test"}),
    "groups": ("group/create", {"name": "Bare"}),
    "clients": ("client/create", {"name": "Bare"}),
    "projects": ("project/create", {"client_id": 1, "name": "Bare"}),
    "tasks": ("task/create", {"project_id": 1, "name": "Bare"}),
    "invoices": ("invoice/create", {"client_id": 1, "task_ids": [1]}),
    "rates": ("rate/create", {"user_id": 1, "schedule_id": 1, "name": "Bare", "duration_unit": "hours"}),
}


def _schema_name(renderer: str) -> str:
    return "".join(part.title() for part in renderer.split("_"))


def test_every_renderer_has_its_schema_and_a_table():
    renderers = {
        name
        for name, value in vars(views).items()
        if inspect.isfunction(value) and value.__module__ == views.__name__ and not name.startswith("_")
    }
    listed = {r for names in VIEWS.values() for r in names.split()}
    assert listed == renderers
    assert {_schema_name(r) for r in listed} <= set(SPEC["components"]["schemas"])


@pytest.mark.parametrize("table", sorted(VIEWS))
def test_every_view_of_every_record_is_its_schema_exactly(client, app, table):
    if table in BARE:
        path, body = BARE[table]
        assert client.post(f"{BASE}/api/{APP}/{path}", json=body, headers=H).status_code == 200
    if table in ("time_entries", "breaks"):  # a running entry on a break: end times unset
        assert client.post(f"{BASE}/api/{APP}/ts/start", json={"task_id": 1}, headers=H).status_code == 200
        running = client.post(f"{BASE}/api/{APP}/user/dashboard", json={}, headers=H).json()
        entry = running["data"]["current_time_entry"]["id"]
        client.post(f"{BASE}/api/{APP}/ts/break_start", json={"time_entry_id": entry}, headers=H)
    assert _problems(app.runtime.stores["ibuildapp"], table)[:5] == []


def _problems(store, table: str) -> list[str]:
    rows = list(store.find(TN, table))
    assert rows
    problems = []
    for renderer in VIEWS[table].split():
        schema = {"$ref": f"#/components/schemas/{_schema_name(renderer)}"}
        validator = jsonschema.Draft4Validator(
            {**schema, "components": SPEC["components"]}, format_checker=jsonschema.FormatChecker()
        )
        for row in rows:
            shown = getattr(views, renderer)(store, TN, row)
            problems += [f"{renderer} #{row['id']}: {e.message}" for e in validator.iter_errors(shown)]
            problems += [f"{renderer} #{row['id']}: {k}" for k in undeclared_keys(shown, schema, SPEC)]
    return problems


def test_a_view_with_an_undocumented_key_or_a_negative_date_fails(client, app, monkeypatch):
    """Broken variants: groups sent with their notes, projects with a date before 1970."""
    store = app.runtime.stores["ibuildapp"]
    record, project = views.group_record, views.project_record
    monkeypatch.setattr(views, "group_record", lambda s, tn, g: {**record(s, tn, g), "notes": "x"})
    monkeypatch.setattr(
        views, "project_record", lambda s, tn, p: {**project(s, tn, p), "actual_start_date": -48565526400}
    )
    assert "group_record #1: $.notes" in _problems(store, "groups")
    assert "project_record #1: -48565526400 is less than the minimum of 0" in _problems(store, "projects")
