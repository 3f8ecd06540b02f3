"""Ticket statuses, priorities and channels are enums whose words are the stored strings, and the
unsolved / done / customer-filter sets are defined once, in portal/tickets/rules.py."""

import pathlib
import re

import pytest

from portal.backoffice import kpis
from portal.tickets import queue, rules
from portal.tickets.rules import DONE, UNSOLVED, Channel, Priority, Status, status_in_sql

PORTAL = pathlib.Path(__file__).resolve().parents[2] / "portal"


def test_enum_values_are_the_stored_words():
    assert [s.value for s in Status] == ["new", "open", "pending", "on_hold", "solved", "closed"]
    assert [p.value for p in Priority] == ["low", "normal", "high", "urgent"]
    assert [c.value for c in Channel] == ["web", "email", "api", "phone", "system", "other"]
    assert Status.on_hold == "on_hold" and f"{Status.on_hold}" == "on_hold"
    assert {"pending": 1}[Status.pending] == 1 and rules.STATUS_LABELS["on_hold"] == "On hold"


def test_unsolved_and_done_split_every_status_once():
    assert set(UNSOLVED) | set(DONE) == set(Status) and not set(UNSOLVED) & set(DONE)
    assert {"open": UNSOLVED, "awaiting": (Status.pending,), "solved": DONE} == rules.CUSTOMER_FILTERS
    assert all(rules.can_customer_solve(s) == (s in UNSOLVED) for s in Status)


def test_priority_rank_follows_the_enum_order():
    assert rules.PRIORITY_RANK == {"low": 0, "normal": 1, "high": 2, "urgent": 3}


def test_sql_in_lists_are_built_from_the_enum_sets():
    assert status_in_sql("t.status", UNSOLVED) == "t.status IN ('new', 'open', 'pending', 'on_hold')"
    assert status_in_sql("status", [Status.pending]) == "status = 'pending'"
    assert queue.UNSOLVED_SQL == kpis.UNSOLVED == status_in_sql("t.status", UNSOLVED)
    assert tuple(Channel) == kpis.CHANNELS
    with pytest.raises(ValueError):
        status_in_sql("t.status", ["open') OR 1=1 --"])


def test_no_module_spells_a_status_set_out_again():
    spelled = re.compile(r"""["']new["'],\s*["']open["'],\s*["']pending["']|["']solved["'],\s*["']closed["']""")
    offenders = [
        str(path.relative_to(PORTAL))
        for path in PORTAL.rglob("*.py")
        if path.name != "rules.py" and spelled.search(path.read_text())
    ]
    assert offenders == []


def test_the_report_totals_declare_every_rollup_count():
    from portal.backoffice import rollup
    from portal.backoffice.kpis import _Totals

    assert [k for k in _Totals.__annotations__ if k in rollup.COUNTS] == list(rollup.COUNTS)
