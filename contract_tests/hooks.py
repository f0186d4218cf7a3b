"""schemathesis hooks shared by the pytest suite and `standin contract` (SCHEMATHESIS_HOOKS)."""

import json
import os

import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode

from contract_tests import observe, traffic  # noqa: F401  (the run's tally handler; its manners on the wire)

traffic.install()  # only under `standin contract` (STANDIN_TRAFFIC); a no-op elsewhere


def _vanishes(value) -> bool:
    """Empty containers serialize to nothing in a query string: the request is not negative any more."""
    if isinstance(value, dict):
        return all(_vanishes(v) for v in value.values())
    if isinstance(value, list):
        return all(_vanishes(v) for v in value)
    return False


@schemathesis.hook
def filter_query(ctx, query):
    return not any(_vanishes(v) for v in (query or {}).values() if isinstance(v, (dict, list)))


# Path parameters that name the tenant under test (Resource Guru's account, iBuildApp's app code):
# random values would stop nearly every case at 404. Filled by contract_tests.targets in pytest and
# from STANDIN_PATH_PARAMETERS (JSON) in `standin contract`'s schemathesis process.
PINNED: dict[str, str] = json.loads(os.environ.get("STANDIN_PATH_PARAMETERS", "{}"))


@schemathesis.hook
def map_case(ctx, case):
    """Pin tenant path parameters, unless this case deliberately breaks its path parameters."""
    meta = getattr(case, "meta", None)
    path_info = meta.components.get(ParameterLocation.PATH) if meta else None
    if path_info is not None and path_info.mode != GenerationMode.POSITIVE:
        return case
    for name, value in PINNED.items():
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = value
    return case


@schemathesis.check
def undeclared_keys(ctx, response, case):
    """Every key of an answer is one its schema declares (contract_tests/strict.py). A failure for
    Standin's own runs (STANDIN_UNDECLARED_KEYS=fail, the default in-process), since a frontend
    would read what the vendor never sends; against other servers off (vendors add fields)."""
    from contract_tests import strict

    if strict.mode() != "fail":
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    op = case.operation
    found = strict.undeclared_in_answer(
        op.schema.raw_schema, op.path, op.method, response.status_code, content_type, response.content
    )
    if found:
        shown = ", ".join(found[:8]) + (f" and {len(found) - 8} more" if len(found) > 8 else "")
        raise AssertionError(f"Keys the schema does not declare: {shown}")
    return None
