"""Reports, computed from stored bookings, availability and time off for the requested dates.

Both families share one pass over the bookings. Minutes are whole numbers; v2 blocks also give
hours (minutes / 60) and days (minutes / 480, the vendor's 8-hour day); utilization is a fraction.
Booked (v1) and scheduled (v2) time is non-waiting, not declined; v2 keeps tentative time apart.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from server.api import ApiError, request, respond
from server.vendors.resourceguru import schedule
from server.vendors.resourceguru.catalog import selected_options
from server.vendors.resourceguru.common import _account, _store

DAY = 480
KINDS = ("scheduled", "waiting_list", "tentative")
DOWNTIME = ("other", "personal_vacation", "public_holiday", "sick", "total_vacation")


def _range() -> tuple[dt.date, dt.date]:
    query = request().query_params
    return schedule.date(query["start_date"]), schedule.date(query["end_date"])


def _category(name: str) -> str:
    name = (name or "").lower()
    if "sick" in name:
        return "sick"
    if "public" in name or "bank" in name:
        return "public_holiday"
    if "holiday" in name or "vacation" in name or "leave" in name:
        return "personal_vacation"
    return "other"


class Tally:
    """Minutes by (kind, approval status, billable) for one entity."""

    def __init__(self) -> None:
        self.m: dict[tuple, int] = defaultdict(int)

    def add(self, b: dict, d: dict) -> None:
        kind = "waiting_list" if d.get("waiting") else ("tentative" if b.get("tentative") else "scheduled")
        status = (b.get("approval_state") or {}).get("status") or "approved"
        self.m[(kind, status, bool(b.get("billable")))] += d["duration"]

    def minutes(self, kinds=KINDS, statuses=("approved", "pending"), billable=(True, False)) -> int:
        return sum(v for (k, s, bl), v in self.m.items() if k in kinds and s in statuses and bl in billable)

    def booked(self) -> int:
        return self.minutes(("scheduled", "tentative"))

    def waiting(self) -> int:
        return self.minutes(("waiting_list",))


def block(minutes: float, per_day: int = DAY) -> dict:
    minutes = max(minutes, 0)
    return {"days": round(minutes / (per_day or DAY), 4), "hours": round(minutes / 60, 4), "minutes": minutes}


def _split(t: Tally, kind: str, statuses=("approved", "pending")) -> dict:
    return {
        "billable": block(t.minutes((kind,), statuses, (True,))),
        "non_billable": block(t.minutes((kind,), statuses, (False,))),
        "total": block(t.minutes((kind,), statuses)),
    }


def _ratio(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole > 0 else 0.0


def _utilization(t: Tally, available: int, statuses=("approved", "pending")) -> dict:
    return {
        "billable": _ratio(t.minutes(("scheduled",), statuses, (True,)), available),
        "non_billable": _ratio(t.minutes(("scheduled",), statuses, (False,)), available),
        "total": _ratio(t.minutes(("scheduled",), statuses), available),
    }


def v2_totals(t: Tally, available: int | None = None, approvals: bool = True) -> dict:
    """Scheduled, waiting-list and tentative time, and per approval state unless `approvals` is
    off (the unassigned blocks). Utilization per state only where there is an availability to
    divide by, which is what the vendor shows: a resource's own report and the resources report."""
    out = {kind: _split(t, kind) for kind in KINDS}
    if approvals:
        out["approvals"] = {}
        for status in ("approved", "pending"):
            state = {
                "scheduled": _split(t, "scheduled", (status,)),
                "waiting_list": _split(t, "waiting_list", (status,)),
            }
            if available is not None:
                state["utilization"] = _utilization(t, available, (status,))
            out["approvals"][status] = state
    return out


class Report:
    """One pass over the account's bookings and time off in [first, last]."""

    def __init__(self, slug: str, first: dt.date, last: dt.date) -> None:
        store = _store()
        self.slug, self.first, self.last = slug, first, last
        lo, hi = first.isoformat(), last.isoformat()
        self.resources = {r["id"]: r for r in store.find(slug, "resources")}
        self.by_resource: dict[int, Tally] = defaultdict(Tally)
        self.by_client: dict = defaultdict(Tally)
        self.by_project: dict = defaultdict(Tally)
        self.by_client_resource: dict = defaultdict(Tally)
        self.by_project_resource: dict = defaultdict(Tally)
        self.elastic: dict[int, int] = defaultdict(int)
        self.total = Tally()
        for b in store.find(slug, "bookings", lambda b: b["end_date"] >= lo and b["start_date"] <= hi):
            if not schedule.counts(b):
                continue
            rid, cid, pid = b["resource_id"], b.get("client_id"), b.get("project_id")
            for d in b["durations"]:
                if not lo <= d["date"] <= hi:
                    continue
                for t in (
                    self.by_resource[rid],
                    self.by_client[cid],
                    self.by_project[pid],
                    self.by_client_resource[(cid, rid)],
                    self.by_project_resource[(pid, rid)],
                    self.total,
                ):
                    t.add(b, d)
                for e in d.get("elastic_overtime") or []:
                    self.elastic[rid] += e["end_time"] - e["start_time"]
        self.downtimes: dict[int, list[dict]] = defaultdict(list)
        for d in store.find(slug, "downtimes", lambda d: d["to"] >= lo and d["from"] <= hi):
            for rid in d["resource_ids"]:
                self.downtimes[rid].append(d)
        self.types = {t["id"]: t["name"] for t in store.find(slug, "downtime_types")}
        self._avail: dict[int, tuple[int, dict]] = {}

    def availability(self, rid: int) -> tuple[int, dict[str, int]]:
        """(working minutes net of time off, time off minutes by category) of one resource."""
        if rid not in self._avail:
            r = self.resources[rid]
            custom = schedule.custom_days(r)
            gross = schedule.available_minutes(r, self.first, self.last, custom)
            lost: dict[str, int] = defaultdict(int)
            for d in self.downtimes.get(rid, []):
                per_day = schedule.downtime_by_day(r, self.first, self.last, [d], custom)
                lost[_category(self.types.get(d.get("downtime_type_id"), ""))] += sum(per_day.values())
            union = sum(
                schedule.downtime_by_day(
                    r, self.first, self.last, self.downtimes.get(rid, []), custom
                ).values()
            )
            lost["total_vacation"] = lost["personal_vacation"] + lost["public_holiday"]
            self._avail[rid] = (max(gross - union, 0), dict(lost))
        return self._avail[rid]

    def overtime(self, rid: int) -> int:
        lo, hi = self.first.isoformat(), self.last.isoformat()
        r = self.resources[rid]
        return (
            sum(o["duration"] for o in r.get("overtimes") or [] if lo <= o["date"] <= hi) + self.elastic[rid]
        )

    # -- v1 ------------------------------------------------------------------------------------
    def custom_fields(self, r: dict) -> dict:
        out: dict[str, list] = defaultdict(list)
        for option, field in selected_options(self.slug, r):
            out[field["label"]].append(option["value"])
        return dict(out)

    def type_name(self, r: dict) -> str:
        rtype = _store().get(self.slug, "resource_types", r["resource_type_id"]) or {}
        return rtype.get("name", "")

    def v1_resource(self, rid: int) -> dict:
        r, t = self.resources[rid], self.by_resource[rid]
        available, lost = self.availability(rid)
        per_day = r.get("minutes_per_day") or DAY
        out = {
            "id": rid,
            "name": r["name"],
            "job_title": r.get("job_title"),
            "resource_type": self.type_name(r),
            "custom_fields": self.custom_fields(r),
            "availability": available,
            "booked": t.booked(),
            "waiting_list": t.waiting(),
            "unbooked": available - t.booked(),
            "utilization": _ratio(t.booked(), available),
        }
        for cat in DOWNTIME:
            minutes = lost.get(cat, 0)
            out[f"{cat}_downtime"] = minutes
            out[f"{cat}_downtime_days"] = round(minutes / per_day, 4)
        return out

    def v1_entity_resource(self, rid: int, t: Tally) -> dict:
        r = self.resources[rid]
        available, _ = self.availability(rid)
        return {
            "id": rid,
            "name": r["name"],
            "resource_type": self.type_name(r),
            "job_title": r.get("job_title"),
            "booked": t.booked(),
            "waiting_list": t.waiting(),
            "utilization": _ratio(t.booked(), available),
            "earliest_available_period": None,
        }

    # -- v2 ------------------------------------------------------------------------------------
    def v2_resource(self, rid: int, t: Tally | None = None, full: bool = True) -> dict:
        r = self.resources[rid]
        t = self.by_resource[rid] if t is None else t
        available, lost = self.availability(rid)
        rtype = _store().get(self.slug, "resource_types", r["resource_type_id"]) or {}
        out = {
            "id": rid,
            "name": r["name"],
            "color": r.get("color"),
            "job_title": r.get("job_title"),
            "reported_date_range": {"start": self.first.isoformat(), "end": self.last.isoformat()},
            "resource_type": {"id": r["resource_type_id"], "name": rtype.get("name", "")},
            **v2_totals(t, available if full else None),
        }
        if full:
            scheduled = t.minutes(("scheduled",))
            out.update(
                availability=block(available),
                downtime={cat: block(lost.get(cat, 0)) for cat in DOWNTIME},
                overtime=block(self.overtime(rid)),
                unscheduled=block(max(available - scheduled, 0)),
                utilization=_utilization(t, available),
                custom_fields=self.v2_custom_fields(r),
            )
        return out

    def v2_custom_fields(self, r: dict) -> list[dict]:
        fields: dict[int, dict] = {}
        for option, field in selected_options(self.slug, r):
            entry = fields.setdefault(
                field["id"], {"id": field["id"], "label": field["label"], "selected_options": []}
            )
            entry["selected_options"].append({"id": option["id"], "value": option["value"]})
        return list(fields.values())

    def total_available(self) -> int:
        return sum(self.availability(rid)[0] for rid in self.resources)


def _entity(slug: str, table: str, id_) -> dict:
    record = _store().get(slug, table, id_)
    if record is None or record.get("deleted"):
        raise ApiError("not_found", f"{table[:-1].capitalize()} not found")
    return record


# -- v1 reports ------------------------------------------------------------------------------
async def reports_resources(account, start_date, end_date):
    _account(account)
    rep = Report(account, *_range())
    rows = [rep.v1_resource(rid) for rid in rep.resources]
    available = sum(r["availability"] for r in rows)
    booked = sum(r["booked"] for r in rows)
    body = {
        "availability": available,
        "booked": booked,
        "waiting_list": sum(r["waiting_list"] for r in rows),
        "unbooked": available - booked,
        "utilization": _ratio(booked, available),
        "resources": rows,
    }
    return respond(200, body)


async def reports_resource(account, id_, start_date, end_date):
    _account(account)
    rep = Report(account, *_range())
    if int(id_) not in rep.resources:
        raise ApiError("not_found", "Resource not found")
    rid = int(id_)
    body = rep.v1_resource(rid)
    available, lost = rep.availability(rid)
    per_day = rep.resources[rid].get("minutes_per_day") or DAY
    body["earliest_available_period"] = None
    body["downtime_types"] = [
        {
            "downtime_type": cat,
            "minutes": lost.get(cat, 0),
            "minutes_without_overlap": lost.get(cat, 0),
            "days": round(lost.get(cat, 0) / per_day, 4),
            "days_without_overlap": round(lost.get(cat, 0) / per_day, 4),
        }
        for cat in DOWNTIME
        if cat != "total_vacation"
    ]
    store = _store()
    clients, projects = [], []
    for (cid, r), t in rep.by_client_resource.items():
        if r == rid and cid is not None and (c := store.get(account, "clients", cid)):
            clients.append(
                {
                    "id": cid,
                    "name": c["name"],
                    "color": c.get("color"),
                    "booked": t.booked(),
                    "waiting_list": t.waiting(),
                    "max_usage": available,
                }
            )
    for (pid, r), t in rep.by_project_resource.items():
        if r == rid and pid is not None and (p := store.get(account, "projects", pid)):
            client = store.get(account, "clients", p["client_id"]) if p.get("client_id") else None
            projects.append(
                {
                    "id": pid,
                    "name": p["name"],
                    "color": p.get("color"),
                    "booked": t.booked(),
                    "waiting_list": t.waiting(),
                    "max_usage": available,
                    "client_name": client["name"] if client else None,
                }
            )
    body["clients"], body["projects"] = clients, projects
    return respond(200, body)


async def reports_clients(account, start_date, end_date):
    _account(account)
    rep = Report(account, *_range())
    store = _store()
    rows = []
    for c in store.find(account, "clients", lambda c: not c.get("deleted")):
        t = rep.by_client.get(c["id"], Tally())
        rows.append(
            {
                "id": c["id"],
                "name": c["name"],
                "color": c.get("color"),
                "notes": c.get("notes"),
                "booked": t.booked(),
                "waiting_list": t.waiting(),
            }
        )
    body = {
        "booked": sum(r["booked"] for r in rows),
        "waiting_list": sum(r["waiting_list"] for r in rows),
        "max_usage": rep.total_available(),
        "clients": rows,
    }
    return respond(200, body)


async def reports_client(account, id_, start_date, end_date):
    _account(account)
    client = _entity(account, "clients", id_)
    rep = Report(account, *_range())
    t = rep.by_client.get(client["id"], Tally())
    resources = [
        rep.v1_entity_resource(rid, tally)
        for (cid, rid), tally in rep.by_client_resource.items()
        if cid == client["id"] and rid in rep.resources
    ]
    body = {
        "id": client["id"],
        "name": client["name"],
        "color": client.get("color"),
        "notes": client.get("notes"),
        "booked": t.booked(),
        "waiting_list": t.waiting(),
        "resources": resources,
    }
    return respond(200, body)


def _client_name(slug: str, project: dict):
    client = _store().get(slug, "clients", project["client_id"]) if project.get("client_id") else None
    return client


async def reports_projects(account, start_date, end_date):
    _account(account)
    rep = Report(account, *_range())
    rows = []
    for p in _store().find(account, "projects", lambda p: not p.get("deleted")):
        t = rep.by_project.get(p["id"], Tally())
        client = _client_name(account, p)
        rows.append(
            {
                "id": p["id"],
                "name": p["name"],
                "project_code": p.get("project_code"),
                "color": p.get("color"),
                "booked": t.booked(),
                "waiting_list": t.waiting(),
                "client_id": p.get("client_id"),
                "client_name": client["name"] if client else None,
            }
        )
    body = {
        "booked": sum(r["booked"] for r in rows),
        "waiting_list": sum(r["waiting_list"] for r in rows),
        "max_usage": rep.total_available(),
        "projects": rows,
    }
    return respond(200, body)


async def reports_project(account, id_, start_date, end_date):
    _account(account)
    project = _entity(account, "projects", id_)
    rep = Report(account, *_range())
    t = rep.by_project.get(project["id"], Tally())
    client = _client_name(account, project)
    resources = []
    for (pid, rid), tally in rep.by_project_resource.items():
        if pid == project["id"] and rid in rep.resources:
            row = rep.v1_entity_resource(rid, tally)
            resources.append(
                {"id": rid, "name": row.pop("name"), "project_code": project.get("project_code"), **row}
            )
    body = {
        "id": project["id"],
        "name": project["name"],
        "color": project.get("color"),
        "client_name": client["name"] if client else None,
        "booked": t.booked(),
        "waiting_list": t.waiting(),
        "resources": resources,
    }
    return respond(200, body)


# -- v2 reports ------------------------------------------------------------------------------
def _v2_summary(rep: Report, t: Tally, rows: list[dict] | None = None) -> dict:
    available = rep.total_available()
    out = v2_totals(t, available if rows is not None else None)
    if rows is not None:
        lost: dict[str, int] = defaultdict(int)
        for rid in rep.resources:
            for cat, minutes in rep.availability(rid)[1].items():
                lost[cat] += minutes
        scheduled = t.minutes(("scheduled",))
        out.update(
            availability=block(available),
            downtime={cat: block(lost.get(cat, 0)) for cat in DOWNTIME},
            overtime=block(sum(rep.overtime(rid) for rid in rep.resources)),
            unscheduled=block(max(available - scheduled, 0)),
            utilization=_utilization(t, available),
        )
    return out


async def reports_v2_resources(account, start_date, end_date):
    _account(account)
    rep = Report(account, *_range())
    rows = [rep.v2_resource(rid) for rid in rep.resources]
    return respond(200, {**_v2_summary(rep, rep.total, rows), "resources": rows})


async def reports_v2_resource(account, id_, start_date, end_date):
    _account(account)
    rep = Report(account, *_range())
    if int(id_) not in rep.resources:
        raise ApiError("not_found", "Resource not found")
    rid = int(id_)
    body = rep.v2_resource(rid)
    store = _store()
    body["clients"] = [
        {"id": cid, "name": c["name"], "color": c.get("color"), **v2_totals(t)}
        for (cid, r), t in rep.by_client_resource.items()
        if r == rid and cid is not None and (c := store.get(account, "clients", cid))
    ]
    body["projects"] = [
        {
            "id": pid,
            "name": p["name"],
            "color": p.get("color"),
            "project_code": p.get("project_code"),
            "client": _client_ref(account, p),
            **v2_totals(t),
        }
        for (pid, r), t in rep.by_project_resource.items()
        if r == rid and pid is not None and (p := store.get(account, "projects", pid))
    ]
    body["clients_unassigned"] = v2_totals(rep.by_client_resource.get((None, rid), Tally()), approvals=False)
    body["projects_unassigned"] = v2_totals(
        rep.by_project_resource.get((None, rid), Tally()), approvals=False
    )
    available, lost = rep.availability(rid)
    per_day = rep.resources[rid].get("minutes_per_day") or DAY
    body["downtime_types"] = [
        {
            "downtime_type": cat,
            "scheduled": block(lost.get(cat, 0), per_day),
            "scheduled_without_overlap": block(lost.get(cat, 0), per_day),
        }
        for cat in DOWNTIME
        if cat != "total_vacation"
    ]
    return respond(200, body)


def _client_ref(slug: str, project: dict):
    client = _client_name(slug, project)
    return {"id": client["id"], "name": client["name"], "color": client.get("color")} if client else None


async def reports_v2_clients(account, start_date, end_date):
    _account(account)
    rep = Report(account, *_range())
    rows = [
        {
            "id": c["id"],
            "name": c["name"],
            "color": c.get("color"),
            **v2_totals(rep.by_client.get(c["id"], Tally())),
        }
        for c in _store().find(account, "clients", lambda c: not c.get("deleted"))
    ]
    body = {
        **_v2_summary(rep, rep.total),
        "clients": rows,
        "unassigned": v2_totals(rep.by_client.get(None, Tally()), approvals=False),
    }
    return respond(200, body)


def _v2_resources_of(rep: Report, pairs: dict, key) -> list[dict]:
    return [
        rep.v2_resource(rid, tally, full=False)
        for (k, rid), tally in pairs.items()
        if k == key and rid in rep.resources
    ]


async def reports_v2_clients_unassigned(account, start_date, end_date):
    _account(account)
    rep = Report(account, *_range())
    t = rep.by_client.get(None, Tally())
    return respond(
        200,
        {
            **v2_totals(t, approvals=False),
            "resources": _v2_resources_of(rep, rep.by_client_resource, None),
        },
    )


async def reports_v2_client(account, id_, start_date, end_date):
    _account(account)
    client = _entity(account, "clients", id_)
    rep = Report(account, *_range())
    t = rep.by_client.get(client["id"], Tally())
    body = {
        "id": client["id"],
        "name": client["name"],
        "color": client.get("color"),
        **v2_totals(t),
        "resources": _v2_resources_of(rep, rep.by_client_resource, client["id"]),
    }
    return respond(200, body)


async def reports_v2_projects(account, start_date, end_date):
    _account(account)
    rep = Report(account, *_range())
    rows = [
        {
            "id": p["id"],
            "name": p["name"],
            "color": p.get("color"),
            "project_code": p.get("project_code"),
            "client": _client_ref(account, p),
            **v2_totals(rep.by_project.get(p["id"], Tally())),
        }
        for p in _store().find(account, "projects", lambda p: not p.get("deleted"))
    ]
    body = {
        **_v2_summary(rep, rep.total),
        "projects": rows,
        "unassigned": v2_totals(rep.by_project.get(None, Tally()), approvals=False),
    }
    return respond(200, body)


async def reports_v2_projects_unassigned(account, start_date, end_date):
    _account(account)
    rep = Report(account, *_range())
    t = rep.by_project.get(None, Tally())
    return respond(
        200,
        {
            **v2_totals(t, approvals=False),
            "resources": _v2_resources_of(rep, rep.by_project_resource, None),
        },
    )


async def reports_v2_project(account, id_, start_date, end_date):
    _account(account)
    project = _entity(account, "projects", id_)
    rep = Report(account, *_range())
    t = rep.by_project.get(project["id"], Tally())
    body = {
        "id": project["id"],
        "name": project["name"],
        "color": project.get("color"),
        "project_code": project.get("project_code"),
        "client": _client_ref(account, project),
        **v2_totals(t),
        "resources": _v2_resources_of(rep, rep.by_project_resource, project["id"]),
    }
    return respond(200, body)
