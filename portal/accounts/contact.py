"""A guest's name and address, as the ticket form and the booking form both ask them of visitors
who are not signed in (a signed-in actor is their own contact)."""

from __future__ import annotations

from dataclasses import dataclass

from piccolo.columns import ForeignKey, Timestamptz, Varchar

from portal.accounts.rules import Actor, email_problem, name_problem, normalize_email
from portal.db import write_transaction


@dataclass
class GuestContact:
    name: str = ""
    email: str = ""

    def problems(self, actor: Actor | None) -> dict[str, str]:
        """Messages by field name; none for a signed-in actor, whose own name and address count."""
        errors: dict[str, str] = {}
        if actor is None:
            if problem := name_problem(self.name):
                errors["name"] = problem
            if problem := email_problem(normalize_email(self.email)):
                errors["email"] = problem
        return errors

    def email_and_name(self, actor: Actor | None) -> tuple[str, str]:
        """Who writes or books: the actor, else the guest as typed (the address normalized)."""
        if actor is not None:
            return actor.email, actor.name
        return normalize_email(self.email), self.name.strip()


async def claim_proven(owner: ForeignKey, address: Varchar, proven_at: Timestamptz, user_id: int, email: str) -> int:
    """Give ``user_id`` the guest rows (no ``owner`` yet) filed with ``email`` whose own address was
    proven too (``proven_at``: their mailed link was used), once the account proved the address:
    anyone can type an address into a guest form. Returns how many rows joined the account."""
    table = owner._meta.table
    async with write_transaction():
        rows = (
            await table.update({owner: user_id})
            .where((address == email) & owner.is_null() & proven_at.is_not_null())
            .returning(table._meta.primary_key)
            .run()
        )
    return len(rows)
