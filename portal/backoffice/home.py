"""The back-office home (``/back``): the agent's own numbers, each a link to the queue it counts,
their next appointments, and for admins the desk's numbers.

The numbers are the console's own queue filters counted (``queue.filter_counts``,
``queue.view_counts``), so a number and the list behind its link always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portal.accounts.rules import Actor
from portal.booking import calendar
from portal.tickets import access, queue, rules
from portal.tickets.queue import Filters

# key: (label, the queue filters it counts)
MY_NUMBERS: dict[str, tuple[str, Filters]] = {
    "mine": ("Mine, open", Filters(view="mine")),
    "soon": ("Mine, due within 1 h", Filters(view="mine", sla="soon")),
    "overdue": ("Mine, overdue", Filters(view="mine", sla="overdue")),
    "waiting": ("Mine, waiting on the customer", Filters(view="mine", status=(rules.Status.pending,))),
}
DESK_NUMBERS = ("unassigned", "open", "breaching", "overdue", "pending")


@dataclass(frozen=True)
class Number:
    key: str
    label: str
    count: int
    query: str  # the queue's query string: the link shows exactly what was counted


def my_numbers(counts: dict[str, int]) -> list[Number]:
    return [Number(key, label, counts.get(key, 0), f.query_string()) for key, (label, f) in MY_NUMBERS.items()]


def desk_numbers(counts: dict[str, int]) -> list[Number]:
    return [Number(key, rules.VIEWS[key], counts.get(key, 0), Filters(view=key).query_string()) for key in DESK_NUMBERS]


async def home(actor: Actor) -> dict[str, Any]:
    viewer = await access.for_staff(actor)
    counts = await queue.filter_counts(viewer, {key: filters for key, (_, filters) in MY_NUMBERS.items()})
    return {
        "mine": my_numbers(counts),
        "desk": desk_numbers(await queue.view_counts(viewer)) if actor.is_admin else [],
        "appointments": await calendar.upcoming_for(actor),
        "section": "dashboard",
    }
