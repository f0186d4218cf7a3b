"""ARCHITECTURE.md states the middleware order as the code really builds it, in both engine modes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server import fastpath
from server.app import create_app

DOC = Path(__file__).resolve().parents[1] / "ARCHITECTURE.md"


def stated_order() -> dict[bool, list[str]]:
    """The table between the middleware-order markers: column 1 the fast mode, column 2 stock."""
    text = DOC.read_text(encoding="utf-8")
    table = re.search(
        r"<!-- middleware-order: fast \| stock -->\n(.*?)<!-- /middleware-order -->", text, re.S
    )
    assert table, "ARCHITECTURE.md lost its middleware-order table"
    rows = [line.split("|")[1:3] for line in table.group(1).splitlines() if line.startswith("| ")]
    order = {True: [], False: []}
    for fast, stock in rows[1:]:  # the header row names the columns
        for mode, cell in ((True, fast.strip()), (False, stock.strip())):
            if cell != "—":
                order[mode].append(cell)
    return order


def built_order(fast: bool) -> list[str]:
    app = create_app(rate_limit=0, fast=fast)
    try:
        return [getattr(m, "func", m).__name__ for m in app.middleware.middlewares]
    finally:
        fastpath.install(True)


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "stock"])
def test_the_middleware_order_is_the_one_architecture_states(fast):
    assert built_order(fast) == stated_order()[fast]


def test_a_misstated_order_is_caught():
    """The comparison can fail: the order with two layers swapped is not the built one."""
    order = stated_order()[True]
    cors, engine = order.index("AnyOriginCORS"), order.index("EngineMiddleware")
    order[cors], order[engine] = order[engine], order[cors]
    assert built_order(True) != order
