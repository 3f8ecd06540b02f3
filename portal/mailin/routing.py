"""Where a received mail goes: pure rules over what the intake found out about it.

The order matters and is the safety argument of the channel:

1. a copy of a mail we already took, a bounce, or our own mail coming back is never answered;
2. the loop breaker holds everything from a sender (or into a ticket) over the hourly budget;
3. a mail joins a ticket only when a key it carries verifies for its sender *and* the sender
   still takes part in that ticket (requester, CC, or staff who may see it); an agent's mail
   is their reply to the customer, a customer's is theirs;
4. a mail that names a ticket without that proof becomes a new ticket, linked to the one it
   named, for an agent to judge ("possible reply from a new address"); a subject line "[#12]"
   is not even read;
5. automatic mail (out-of-office, lists, other help desks' acknowledgements) is never
   acknowledged: that is what breaks the mail loops of other help desks.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    new_ticket = "new_ticket"
    reply = "reply"  # the customer's (requester or CC) reply
    staff_reply = "staff_reply"  # an agent answering by mail: mailed on to the customer
    note = "note"  # an automatic answer from someone on the ticket: an internal note, nothing else
    bounce = "bounce"
    ignore = "ignore"
    hold = "hold"


@dataclass(frozen=True)
class Facts:
    """What the intake found out about one mail, before it changes anything."""

    automatic: str = ""  # why it is automatic, "" when a person wrote it
    bounce: bool = False
    duplicate: bool = False
    from_ours: bool = False  # sent from one of our own addresses
    held: str = ""  # why the loop breaker holds it, "" when within budget
    named: int | None = None  # an existing ticket the mail names (key in an address or Message-ID)
    proven: bool = False  # a key of ``named`` verifies for the sender
    participant: bool = False  # the sender takes part in ``named`` (requester, CC, staff who see it)
    staff: bool = False  # the sender is an active agent or admin
    open_for_replies: bool = True  # ``named`` still takes customer replies (not closed)
    may_acknowledge: bool = True  # the mailbox acknowledges, and this address had none in 24 h


@dataclass(frozen=True)
class Route:
    action: Action
    reason: str = ""
    ticket: int | None = None  # the ticket to add to (reply, staff_reply, note)
    related: int | None = None  # a new ticket's link to the ticket the mail named
    acknowledge: bool = False


def route(facts: Facts) -> Route:
    if facts.duplicate:
        return Route(Action.ignore, "a copy of a mail already received")
    if facts.bounce:
        return Route(Action.bounce, "delivery-status report")
    if facts.from_ours:
        return Route(Action.ignore, "sent from one of our own addresses (a loop)")
    if facts.held:
        return Route(Action.hold, facts.held)
    if facts.named is not None and facts.proven and facts.participant:
        return _answer(facts, facts.named)
    if facts.automatic:
        if facts.named is not None:
            return Route(Action.ignore, f"automatic mail ({facts.automatic}) naming #{facts.named} without proof")
        return Route(Action.new_ticket, f"automatic mail ({facts.automatic}): not acknowledged")
    return Route(Action.new_ticket, "new mail", related=facts.named, acknowledge=facts.may_acknowledge)


def _answer(facts: Facts, number: int) -> Route:
    if facts.staff:
        if facts.automatic:
            return Route(Action.ignore, f"automatic mail from staff ({facts.automatic}): not sent on to the customer")
        return Route(Action.staff_reply, "staff reply by mail", ticket=number)
    if facts.automatic:
        return Route(Action.note, f"automatic reply ({facts.automatic})", ticket=number)
    if not facts.open_for_replies:
        return Route(
            Action.new_ticket,
            f"reply to closed #{number}: a follow-up",
            related=number,
            acknowledge=facts.may_acknowledge,
        )
    return Route(Action.reply, "reply", ticket=number)
