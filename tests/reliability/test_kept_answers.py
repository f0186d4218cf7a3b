"""The kept-answer cache has a byte budget and is emptied on reset (issue 18, item 7).

Before: up to 32 answers per operation were kept whatever their size (+80 MB from one 2.6 MB
list), freed neither by writes nor by reset (server.dispatch.KeptBudget)."""

from __future__ import annotations

import pytest

from server import dispatch
from server.app import create_app

PR = {"X-Auth-Token": "standin-productive-demo-token", "X-Organization-Id": "1308"}
WIDGETS = "/productive/api/v2/widgets"


@pytest.fixture
def budget(monkeypatch):
    small = dispatch.KeptBudget(64 << 10)  # 64 KB: a page of widgets is a few KB
    monkeypatch.setattr(dispatch, "KEPT", small)
    return small


def test_kept_answers_stay_within_their_byte_budget_and_reset_empties_them(budget):
    app = create_app(["productive"], rate_limit=0, scale=3)
    with app.test_client() as client:
        app.runtime.clock.freeze(True)  # answers are kept within one second of Standin's clock
        for size in range(1, 200):
            r = client.get(f"{WIDGETS}?page[size]={size}", headers=PR)
            assert r.status_code == 200
            assert budget.used <= budget.limit
            again = client.get(f"{WIDGETS}?page[size]={size}", headers=PR)
            assert again.content == r.content
        assert budget.used > 0
        assert sum(len(op.kept) for op in budget._holders) >= 1
        app.runtime.reset()
        assert budget.used == 0 and not any(op.kept for op in budget._holders)


def test_an_answer_past_a_quarter_of_the_budget_is_not_kept(monkeypatch):
    budget = dispatch.KeptBudget(32 << 10)
    monkeypatch.setattr(dispatch, "KEPT", budget)
    app = create_app(["productive"], rate_limit=0, scale=3)
    with app.test_client() as client:
        app.runtime.clock.freeze(True)
        big = client.get(f"{WIDGETS}?page[size]=200", headers=PR)
        assert len(big.content) > budget.limit // 4
        assert budget.used == 0
