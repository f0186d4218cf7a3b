"""schemathesis hooks shared by the pytest suite and `standin contract` (SCHEMATHESIS_HOOKS)."""

import schemathesis


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
