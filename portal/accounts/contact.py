"""A guest's name and address, as the ticket form and the booking form both ask them of visitors
who are not signed in (a signed-in actor is their own contact), and how the rows guests file join
an account once the address is proven."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from piccolo.columns import ForeignKey, Timestamptz, Varchar

from portal.accounts.rules import Actor, email_problem, name_problem, normalize_email
from portal.accounts.services import verified_account_with
from portal.db import required_row, write_transaction


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


@dataclass(frozen=True)
class GuestOwnership:
    """The columns by which a row filed by a guest (a ticket, a booking) comes to belong to an
    account: its ``owner`` (null for a guest), the ``address`` typed, and when that address was
    ``proven_at`` (the row's mailed link was used). Anyone can type an address into a guest form, so
    a row joins an account only when both the account and the row have proven the same address."""

    owner: ForeignKey
    address: Varchar
    proven_at: Timestamptz

    async def prove(self, row_id: int, now: datetime) -> None:
        """Record that the row's address is proven; a guest row then joins the verified account with
        that address, if there is one (an unverified one claims it when verified: ``claim``)."""
        table = self.owner._meta.table
        key = table._meta.primary_key
        async with write_transaction():
            await table.update({self.proven_at: now}).where((key == row_id) & self.proven_at.is_null()).run()
            row = required_row(await table.select(self.owner, self.address).where(key == row_id).first())
            if row[self.owner._meta.name] is None and (
                account := await verified_account_with(row[self.address._meta.name])
            ):
                await table.update({self.owner: account}).where((key == row_id) & self.owner.is_null()).run()

    async def claim(self, user_id: int, email: str) -> int:
        """Give ``user_id``, whose account just proved ``email``, the guest rows with that address
        whose own address was proven too. Returns how many rows joined the account."""
        table = self.owner._meta.table
        async with write_transaction():
            rows = (
                await table.update({self.owner: user_id})
                .where((self.address == email) & self.owner.is_null() & self.proven_at.is_not_null())
                .returning(table._meta.primary_key)
                .run()
            )
        return len(rows)
