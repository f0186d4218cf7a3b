"""Resources, resource types, custom fields and their options.

A resource's custom field values are option ids (`custom_field_option_ids`); deleting a field or an
option takes it off every resource. Deleting a resource takes its bookings and time off with it.
"""

from __future__ import annotations

from collections.abc import Iterator

from server.api import request, respond
from server.vendors.resourceguru.common import (
    _account,
    _blank,
    _body,
    _color,
    _get,
    _now,
    _page,
    _publish,
    _query,
    _refuse,
    _store,
    _unique,
    _unknown,
)

WEEK_DAYS = (1, 2, 3, 4, 5)
FIELD_KEYS = ("label", "required", "entity_types", "resource_type_ids", "icon")
REPLACEMENTS = ("replacement_approver_user_id", "replacement_reviewer_user_id")


# -- views -------------------------------------------------------------------------------------
def _options_of(slug: str, field_id: int) -> list[dict]:
    return list(_store().find(slug, "custom_field_options", lambda o: o["custom_field_id"] == field_id))


def selected_options(slug: str, resource: dict) -> Iterator[tuple[dict, dict]]:
    """(option, field) of each custom field option chosen for `resource` that still exists."""
    store = _store()
    for oid in resource.get("custom_field_option_ids") or []:
        option = store.get(slug, "custom_field_options", oid)
        field = option and store.get(slug, "custom_fields", option["custom_field_id"])
        if option and field:
            yield option, field


def _field_view(slug: str, field: dict) -> dict:
    return {
        "id": field["id"],
        "name": field["label"],
        "label": field["label"],
        "required": field["required"],
        "type": field["type"],
        "single_select": field["type"] == "single_select",
        "resource_type_ids": list(field["resource_type_ids"]),
        "created_at": field["created_at"],
        "updated_at": field["updated_at"],
        "custom_field_options": [
            {"id": o["id"], "value": o["value"]} for o in _options_of(slug, field["id"])
        ],
    }


def _type_view(slug: str, rtype: dict) -> dict:
    fields = _store().find(slug, "custom_fields", lambda f: rtype["id"] in f["resource_type_ids"])
    return {**rtype, "custom_fields": [_field_view(slug, f) for f in fields]}


def _booked(slug: str) -> dict[int, tuple[list, list]]:
    """resource id -> (client ids, project ids) it is booked for, sorted; one pass over the
    bookings per change of the store, not one per resource shown."""

    def build():
        seen: dict[int, tuple[set, set]] = {}
        for b in _store().find(slug, "bookings"):
            clients, projects = seen.setdefault(b.get("resource_id"), (set(), set()))
            if b.get("client_id"):
                clients.add(b["client_id"])
            if b.get("project_id"):
                projects.add(b["project_id"])
        return {rid: (sorted(c), sorted(p)) for rid, (c, p) in seen.items()}

    return _store().derived(("booked", slug), build)


def _resource_view(slug: str, r: dict, availability: bool = True) -> dict:
    store = _store()
    rtype = store.get(slug, "resource_types", r["resource_type_id"]) or {
        "id": r["resource_type_id"],
        "name": "",
    }
    view = {k: v for k, v in r.items() if k not in ("resource_type_id", "custom_field_option_ids")}
    view["resource_type"] = {"id": rtype["id"], "name": rtype["name"]}
    view["phone"] = (r.get("custom_attributes") or {}).get("phone")
    view["selected_custom_field_options"] = [
        {"id": option["id"], "name": field["label"], "value": option["value"]}
        for option, field in selected_options(slug, r)
    ]
    clients, projects = _booked(slug).get(r["id"], ((), ()))
    view["booked_client_ids"], view["booked_project_ids"] = list(clients), list(projects)
    if not availability:
        view.pop("available_periods", None)
    return view


# -- resource types ----------------------------------------------------------------------------
async def resource_types_list(account):
    _account(account)
    return respond(200, [_type_view(account, t) for t in _store().find(account, "resource_types")])


async def resource_types_get(account, id_):
    _account(account)
    return respond(200, _type_view(account, _get(account, "resource_types", id_, "Resource type")))


# -- resources ---------------------------------------------------------------------------------
def _resource_rows(account: str, archived: bool) -> list[dict]:
    rows = [r for r in _store().find(account, "resources") if r["archived"] == archived]
    ids = set()
    for value in request().query_params.getlist("ids"):
        ids |= {int(x) for x in value.split(",") if x.strip().isdigit()}
    if ids:
        rows = [r for r in rows if r["id"] in ids]
    show = _query("show_availability", "1") != "0"
    return [_resource_view(account, r, show) for r in _page(rows)]


async def resources_list(account, limit="50", offset="0", detail=None, ids=None, show_availability="1"):
    _account(account)
    return respond(200, _resource_rows(account, False))


async def resources_archived(account, limit="50", offset="0", detail=None, ids=None, show_availability="1"):
    _account(account)
    return respond(200, _resource_rows(account, True))


async def resources_get(account, id_):
    _account(account)
    return respond(200, _resource_view(account, _get(account, "resources", id_, "Resource")))


def _replacement_problems(slug: str, data: dict) -> list:
    problems = []
    for key in REPLACEMENTS:
        if key in data:
            problems += _unknown(slug, "users", key, "is not a user", [data[key]])
    return problems


def _resource_changes(slug: str, data: dict, current: dict | None) -> dict:
    """Validated changes of a create (current None) or update; raises before anything is written."""
    problems = []
    type_id = data.get("resource_type_id", current and current["resource_type_id"])
    rtype = _store().get(slug, "resource_types", type_id)
    if rtype is None:
        problems.append(("resource_type_id", "is not a resource type of this account", type_id))
    options = data.get("custom_field_option_ids")
    problems += _unknown(
        slug, "custom_field_options", "custom_field_option_ids", "has an unknown option", options
    )
    problems += _unknown(
        slug, "users", "booking_approver_ids", "has an unknown user", data.get("booking_approver_ids")
    )
    problems += _replacement_problems(slug, data)
    human = rtype["human"] if rtype else False
    first = data.get("first_name", current and current["first_name"])
    last = data.get("last_name", current and current["last_name"])
    name = data.get("name") or (current and current["name"]) or " ".join(p for p in (first, last) if p)
    if not (name or "").strip():
        problems.append(("name", "can't be blank", data.get("name")))
    _refuse(problems)
    changes = {"name": name.strip(), "human": human, "resource_type_id": rtype["id"], "updated_at": _now()}
    for key in ("job_title", "bookable", "notes", "email", "first_name", "last_name", "archived"):
        if key in data:
            changes[key] = data[key]
    if "color" in data:
        changes["color"] = _color(data["color"])
    if "timezone" in data:
        changes["timezone"] = {"name": data["timezone"], "offset": 0}
    attributes = dict(
        (current or {}).get("custom_attributes")
        or {"phone": None, "capacity": None, "registration_number": None}
    )
    for key in ("phone", "capacity", "registration_number"):
        if key in data:
            attributes[key] = data[key]
    changes["custom_attributes"] = attributes
    if options is not None:
        changes["custom_field_option_ids"] = _unique(options)
    if "booking_approver_ids" in data:
        changes["booking_approver_ids"] = _unique(data["booking_approver_ids"])
    return changes


async def resources_create(account, body):
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        changes = _resource_changes(account, data, None)
        stamp = _now()
        record = {
            "id": None,
            "archived": False,
            "available_periods": [
                {"week_day": d, "start_time": 540, "end_time": 1020, "valid_from": None, "valid_until": None}
                for d in WEEK_DAYS
            ],
            "bookable": True,
            "color": None,
            "created_at": stamp,
            "custom_attributes": {},
            "creator_id": user["id"],
            "custom_available_periods": [],
            "email": None,
            "images": {},
            "job_title": None,
            "last_updated_by": user["id"],
            "minutes_per_day": 480,
            "first_name": None,
            "last_name": None,
            "notes": None,
            "overtimes": [],
            "phone": None,
            "custom_field_option_ids": [],
            "timezone": {"name": "London", "offset": 0},
            "user_id": None,
            "vacation_allowance": None,
            "booking_approver_ids": [],
            **changes,
        }
        store.insert(account, "resources", record)
        view = _resource_view(account, record)
    _publish(account, "resource", "create", view, user)
    return respond(201, view)


async def resources_update(account, id_, body):
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "resources", id_, "Resource")
        changes = _resource_changes(account, data, record)
        record.update(changes, last_updated_by=user["id"])
        view = _resource_view(account, record)
    _publish(account, "resource", "update", view, user)
    return respond(200, view)


async def resources_delete(account, id_, body):
    data, store = _body(body), _store()
    _, user = _account(account)
    with store.lock:
        record = _get(account, "resources", id_, "Resource")
        _refuse(_replacement_problems(account, data))
        view = _resource_view(account, record)
        store.delete(account, "resources", record["id"])
        # The resource's bookings and time off go with it.
        for row in list(store.find(account, "bookings", lambda b: b["resource_id"] == record["id"])):
            store.delete(account, "bookings", row["id"])
        for row in list(store.find(account, "downtimes", lambda d: record["id"] in d["resource_ids"])):
            row["resource_ids"].remove(record["id"])
            if not row["resource_ids"]:
                store.delete(account, "downtimes", row["id"])
    _publish(account, "resource", "delete", view, user)
    return respond(204)


# -- custom fields -----------------------------------------------------------------------------
async def custom_fields_list(account):
    _account(account)
    return respond(200, list(_store().find(account, "custom_fields")))


async def custom_fields_get(account, id_):
    _account(account)
    return respond(200, _get(account, "custom_fields", id_, "Custom field"))


def _field_problems(account: str, data: dict) -> list:
    return _blank(data, "label") + _unknown(
        account,
        "resource_types",
        "resource_type_ids",
        "has an unknown resource type",
        data.get("resource_type_ids"),
    )


def _field_changes(data: dict) -> dict:
    return {k: data[k] for k in FIELD_KEYS if k in data}


def _option(field_id: int, value: str) -> dict:
    stamp = _now()
    return {"id": None, "custom_field_id": field_id, "value": value, "created_at": stamp, "updated_at": stamp}


async def custom_fields_create(account, body):
    data, store = _body(body), _store()
    _account(account)
    with store.lock:
        _refuse(_field_problems(account, data))
        stamp = _now()
        record = {
            "id": None,
            "label": "",
            "required": False,
            "type": data.get("type", "multi_select"),
            "entity_types": ["resource"],
            "resource_type_ids": [],
            "default": False,
            "icon": None,
            "created_at": stamp,
            "updated_at": stamp,
            **_field_changes(data),
        }
        record["label"] = record["label"].strip()
        store.insert(account, "custom_fields", record)
        for value in data.get("custom_field_options") or []:
            store.insert(account, "custom_field_options", _option(record["id"], value))
    return respond(201, dict(record))


async def custom_fields_update(account, id_, body):
    data, store = _body(body), _store()
    _account(account)
    with store.lock:
        record = _get(account, "custom_fields", id_, "Custom field")
        _refuse(_field_problems(account, data))
        record.update(_field_changes(data), updated_at=_now())
        record["label"] = record["label"].strip()
    return respond(200, dict(record))


async def custom_fields_delete(account, id_):
    store = _store()
    _account(account)
    with store.lock:
        record = _get(account, "custom_fields", id_, "Custom field")
        options = [o["id"] for o in _options_of(account, record["id"])]
        for oid in options:
            store.delete(account, "custom_field_options", oid)
        for r in store.find(account, "resources"):
            r["custom_field_option_ids"] = [o for o in r["custom_field_option_ids"] if o not in options]
        store.delete(account, "custom_fields", record["id"])
    return respond(204)


# -- custom field options ----------------------------------------------------------------------
async def custom_field_options_list(account, custom_field_id=None):
    _account(account)
    field = _query("custom_field_id")
    rows = _store().find(
        account, "custom_field_options", lambda o: field is None or o["custom_field_id"] == int(field)
    )
    return respond(200, list(rows))


async def custom_field_options_get(account, id_):
    _account(account)
    return respond(200, _get(account, "custom_field_options", id_, "Custom field option"))


async def custom_field_options_create(account, body):
    data, store = _body(body), _store()
    _account(account)
    with store.lock:
        problems = _unknown(
            account, "custom_fields", "custom_field_id", "is not a custom field", [data["custom_field_id"]]
        )
        _refuse(problems + _blank(data, "value", required=True))
        record = store.insert(
            account, "custom_field_options", _option(data["custom_field_id"], data["value"].strip())
        )
    return respond(201, dict(record))


async def custom_field_options_update(account, id_, body):
    data, store = _body(body), _store()
    _account(account)
    with store.lock:
        record = _get(account, "custom_field_options", id_, "Custom field option")
        if "value" in data:
            _refuse(_blank(data, "value"))
            record.update(value=data["value"].strip(), updated_at=_now())
    return respond(200, dict(record))


async def custom_field_options_delete(account, id_):
    store = _store()
    _account(account)
    with store.lock:
        record = _get(account, "custom_field_options", id_, "Custom field option")
        store.delete(account, "custom_field_options", record["id"])
        for r in store.find(account, "resources"):
            if record["id"] in r["custom_field_option_ids"]:
                r["custom_field_option_ids"].remove(record["id"])
    return respond(204)
