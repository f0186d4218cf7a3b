"""Regenerate tests/data/*.json: every exchange the vendor documentation shows, as data.

    .venv/bin/python tests/data/extract.py [SEEDS_DIR]      # default: ../shared/seeds

The seed files (scrapes of the vendors' documentation) live outside the repository, so the
tests replay these JSON files instead; run this by hand when a seed changes and commit the
output. Each file names its seed, and each exchange the seed line it was read from, so a
reviewer can check the data against the documentation.

The three scrapes differ, so does the reading:
- Productive (000, 002, Apiary): a `METHOD /path` line followed by `Headers`, an optional
  request `Body`, then `Responses[NNN]` and an optional response `Body`. 000 shows no status.
- iBuildApp (001, Slate): `POST /path` sections whose request bodies sit either before or
  after the POST line; each `[NNN ...] Response body` is one exchange (see `ibuildapp()`).
- Resource Guru (003, Redoc): the scrape lost every method and path. What is left per
  operation is its description, parameter tables and the request and response samples in
  Redoc's `{- "key": value` notation. `RESOURCEGURU` below assigns every sample, by its line,
  to the operationId of specs/resourceguru.yaml it documents (read from the description
  above it and the order of the sections), and the method and path are taken from the spec.
  Redoc shows one response sample per operation: the success body, or for operations whose
  success has no body (204) the error body; the latter are stored with `"error": true` and no
  status (the documentation does not say which error it shows). Where the scrape dropped a
  line inside a sample (a trailing comma before `}`), the object's path is listed in
  `dropped_keys_at`: that object lost a key the documentation had.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"

PRODUCTIVE = ("000_9bcbfb234c7390af.txt", "002_96a0c1c7389aaa85.txt")
IBUILDAPP = "001_def7881bc1b63970.txt"
RESOURCEGURU_SEED = "003_04944ccd4c44e164.txt"


def _depth(text: str) -> int:
    """Brackets opened minus closed, outside JSON strings."""
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            escaped = not escaped and ch == "\\"
            if ch == '"' and not escaped:
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return depth


def _block(lines: list[str], start: int) -> tuple[str, int]:
    """The text of the bracketed block starting at `start`, and the index after it."""
    depth, out = 0, []
    for i in range(start, len(lines)):
        out.append(lines[i])
        depth += _depth(lines[i])
        if depth == 0:
            return "\n".join(out), i + 1
    raise ValueError(f"unterminated JSON at line {start + 1}")


# ----------------------------------------------------------------------------- Productive

_REQUEST = re.compile(r"^(GET|POST|PATCH|PUT|DELETE)\s+(/\S+)$")


def productive(lines: list[str]) -> list[dict]:
    """Request line (then `Headers`), optional body, `Responses[NNN]`, optional body."""
    found: list[dict] = []
    current, in_response, i = None, False, 0
    while i < len(lines):
        line = lines[i]
        match = _REQUEST.match(line)
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if match and (nxt == "Headers" or nxt == "" and i + 2 < len(lines) and lines[i + 2] == "Headers"):
            current = {"line": i + 1, "method": match.group(1), "path": match.group(2), "headers": {}}
            current.update(body=None, status=None, response=None)
            found.append(current)
            in_response = False
        elif current and line.startswith("Responses"):
            in_response = True
            status = line[len("Responses") :]
            current["status"] = int(status) if status.isdigit() else None
        elif (
            current and not in_response and ": " in line and line.split(": ")[0] in ("Accept", "Content-Type")
        ):
            current["headers"][line.split(": ")[0]] = line.split(": ", 1)[1]
        elif current and line == "Body" and i + 1 < len(lines) and lines[i + 1].startswith("{"):
            text, i = _block(lines, i + 1)
            current["response" if in_response else "body"] = json.loads(text)
            continue
        i += 1
    return found


# ----------------------------------------------------------------------------- iBuildApp

_POST = re.compile(r"^POST\s+(/\S+)$")
_RESPONSE = re.compile(r"^(?:(\d{3})\b.*?)?Response(?: (\d{3}))? body \(([a-z/]+)\):$")


def _ibuildapp_json(text: str):
    return json.loads(text[5:] if text.startswith("json ") else text)


def ibuildapp(lines: list[str]) -> list[dict]:
    """Each documented response is one exchange. A request body before the POST line belongs
    to the next operation, after it (before the first response) to this one; the two auth
    sections come first and lost their paths in the scrape."""
    found: list[dict] = []
    path, request, pending, answered, i = None, None, None, False, 0
    unnamed = iter(["/api/{APP_CODE}/login", "/api/{APP_CODE}/register"])

    def add(line, path, body, status, response):
        found.append(dict(line=line, method="POST", path=path, body=body, status=status, response=response))

    while i < len(lines):
        line = lines[i]
        if line == "Request body (application/json):":
            text, i = _block(lines, i + 1)
            value = _ibuildapp_json(text)
            if path and not answered and request is None:
                request = value
            else:
                pending = value
            continue
        if match := _POST.match(line):
            path, request, pending, answered = match.group(1), pending, None, False
        elif match := _RESPONSE.match(line):
            status = int(match.group(1) or match.group(2) or 200)
            if match.group(3) == "text/csv":
                add(i + 1, path, request, status, "")
                i += 1
                continue
            text, end = _block(lines, i + 1)
            if path is None:
                add(i + 1, next(unnamed), pending, status, _ibuildapp_json(text))
                pending = None
            else:
                add(i + 1, path, request, status, _ibuildapp_json(text))
                answered = True
            i = end
            continue
        i += 1
    return found


# ----------------------------------------------------------------------------- Resource Guru

# Sample line -> operationId; ">" marks a request sample (the next sample is its response).
RESOURCEGURU = {
    340: "accounts_get",
    363: ">accounts_update",
    368: "accounts_update",
    385: "accounts_list",
    407: "bookings_activities",
    589: "activity_types_list",
    612: ">activity_types_create",
    620: "activity_types_create",
    635: "activity_types_archived",
    653: "activity_types_get",
    676: ">activity_types_update",
    684: "activity_types_update",
    707: ">activity_types_patch",
    715: "activity_types_patch",
    731: "activity_types_delete",
    743: "activity_types_associations",
    761: "bookings_list",
    870: ">bookings_create",
    901: "bookings_create",
    990: "bookings_get",
    1100: ">bookings_update",
    1131: "bookings_update",
    1224: ">bookings_delete",
    1227: "bookings_delete",
    1241: ">bookings_split",
    1243: "bookings_split",
    1338: "clients_bookings",
    1433: "projects_bookings",
    1529: "resources_bookings",
    1624: ">bookings_resolve",
    1629: "bookings_resolve",
    1643: ">bookings_remind",
    1644: "bookings_remind",
    1655: "calendars_list",
    1675: "calendars_external_events",
    1729: "calendars_get",
    1750: ">calendars_update",
    1757: "calendars_update",
    1774: "calendars_delete",
    1790: "clients_list",
    1815: ">clients_create",
    1824: "clients_create",
    1843: "clients_archived",
    1863: "clients_get",
    1887: ">clients_update",
    1896: "clients_update",
    1914: "clients_delete",
    1928: "custom_availability_list",
    1945: ">custom_availability_set",
    1965: "custom_availability_set",
    1981: ">custom_availability_reset",
    1987: "custom_availability_reset",
    1998: "custom_fields_list",
    2023: ">custom_fields_create",
    2035: "custom_fields_create",
    2051: "custom_fields_get",
    2073: ">custom_fields_update",
    2081: "custom_fields_update",
    2097: "custom_fields_delete",
    2109: "custom_field_options_list",
    2122: ">custom_field_options_create",
    2125: "custom_field_options_create",
    2134: "custom_field_options_get",
    2145: ">custom_field_options_update",
    2147: "custom_field_options_update",
    2156: "custom_field_options_delete",
    2175: "downtimes_list",
    2214: ">downtimes_create",
    2230: "downtimes_create",
    2259: ">downtimes_clashes",
    2267: "downtimes_clashes",
    2277: "downtimes_get",
    2314: ">downtimes_update",
    2329: "downtimes_update",
    2352: "downtimes_delete",
    2367: ">downtimes_split",
    2370: "downtimes_split",
    2414: "downtime_types_list",
    2429: ">overtimes_set",
    2433: "overtimes_set",
    2449: "projects_list",
    2489: ">projects_create",
    2505: "projects_create",
    2540: "projects_archived",
    2569: "projects_get",
    2615: ">projects_update",
    2631: "projects_update",
    2665: "projects_delete",
    2678: "reports_projects",
    2698: "reports_project",
    2721: "reports_clients",
    2739: "reports_client",
    2761: "reports_resources",
    2800: "reports_resource",
    2858: "reports_v2_resources",
    3190: "reports_v2_resource",
    3695: "reports_v2_clients",
    3961: "reports_v2_client",
    4192: "reports_v2_clients_unassigned",
    4358: "reports_v2_projects",
    4629: "reports_v2_project",
    4865: "reports_v2_projects_unassigned",
    5035: "resources_list",
    5055: ">resources_create",
    5075: "resources_create",
    5150: "resources_archived",
    5154: "resources_get",
    5242: ">resources_update",
    5261: "resources_update",
    5335: ">resources_delete",
    5338: "resources_delete",
    5356: ">resources_update_availability",
    5368: "resources_update_availability",
    5379: "resource_types_list",
    5410: "resource_types_get",
    5442: "timesheets_list",
    5470: ">timesheets_create",
    5479: "timesheets_create",
    5507: ">timesheets_update",
    5517: "timesheets_update",
    5529: "timesheets_dismiss",
    5541: "timesheets_submit",
    5553: "timesheets_unsubmit",
    5566: "users_list",
    5593: "users_all",
    5618: "me_get",  # no description left above it: the one user operation without a sample
    5643: "users_me",
    5669: "users_get",
    5733: "webhooks_list",
    5757: ">webhooks_create",
    5764: "webhooks_create",
    5781: ">webhooks_test_url",
    5783: "webhooks_test_url",
    5795: "webhooks_get",
    5819: ">webhooks_update",
    5827: "webhooks_update",
    5843: "webhooks_delete",
    5855: "webhooks_test",
    5861: "webhooks_payloads",
    5936: ">webhooks_resend_payload",
    5938: "webhooks_resend_payload",
}
_SAMPLE = re.compile(r'^(\{- |\[- |\{ \}$|\{\}$|\[ \]$|\[\]$|\{$|")')
_MARK = re.compile(r"(^|[\[{,]\s*)- ", re.M)


def redoc_json(text: str) -> tuple[object, list[str]]:
    """Redoc's sample notation as JSON, and the paths of objects the scrape dropped a key from."""
    text = _MARK.sub(r"\1", text)
    dropped = []
    if re.search(r",\s*\n?\s*\}", text):
        marker = '"\u2026dropped\u2026": null'
        value = json.loads(re.sub(r",(\s*\n?\s*)\}", r", " + marker + r"\1}", text))
        dropped = _marked(value, "$")
        return _unmark(value), dropped
    return json.loads(text), dropped


def _marked(value, where: str) -> list[str]:
    if isinstance(value, dict):
        found = [where] if "\u2026dropped\u2026" in value else []
        return found + [p for k, v in value.items() for p in _marked(v, f"{where}.{k}")]
    if isinstance(value, list):
        return sorted({p for v in value for p in _marked(v, f"{where}[]")})
    return []


def _unmark(value):
    if isinstance(value, dict):
        return {k: _unmark(v) for k, v in value.items() if k != "\u2026dropped\u2026"}
    if isinstance(value, list):
        return [_unmark(v) for v in value]
    return value


def _spec_operations() -> dict[str, tuple[str, str]]:
    spec = yaml.safe_load((ROOT / "specs" / "resourceguru.yaml").read_text(encoding="utf-8"))
    ops = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                ops.setdefault(op["operationId"], (method.upper(), path))
    return ops


def resourceguru(lines: list[str]) -> list[dict]:
    ops = _spec_operations()
    samples, i = {}, 0
    while i < len(lines):
        if i + 1 in RESOURCEGURU and _SAMPLE.match(lines[i]):
            text, end = _block(lines, i)
            samples[i + 1] = redoc_json(text)
            i = end
            continue
        i += 1
    missing = set(RESOURCEGURU) - set(samples)
    if missing:
        raise ValueError(f"no sample at lines {sorted(missing)}")
    found, request = [], None
    for line in sorted(samples):
        target = RESOURCEGURU[line]
        value, dropped = samples[line]
        if target.startswith(">"):
            request = (target[1:], line, value)
            continue
        method, path = ops[target]
        body = request[2] if request and request[0] == target else None
        error = isinstance(value, dict) and "errors" in value and isinstance(value["errors"], list)
        found.append(
            dict(
                line=line,
                operation=target,
                method=method,
                path=path,
                request_line=request[1] if body is not None else None,
                body=body,
                status=None,
                error=error,
                response=value,
                dropped_keys_at=dropped,
            )
        )
        request = None
    return found


def main(seeds: Path) -> None:
    def read(name):
        return [line.strip() for line in (seeds / name).read_text(encoding="utf-8").splitlines()]

    outputs = {name: productive(read(name)) for name in PRODUCTIVE}
    outputs[IBUILDAPP] = ibuildapp(read(IBUILDAPP))
    outputs[RESOURCEGURU_SEED] = resourceguru(
        [line.rstrip() for line in (seeds / RESOURCEGURU_SEED).read_text(encoding="utf-8").splitlines()]
    )
    for name, found in outputs.items():
        document = {"seed": name, "extracted_by": "tests/data/extract.py", "exchanges": found}
        out = HERE / (Path(name).stem + ".json")
        out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{out.relative_to(ROOT)}: {len(found)} exchanges")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SEEDS)
