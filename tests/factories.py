"""Test data made through the real services (and plain rows where a service cannot say it)."""

from __future__ import annotations

from portal.accounts import services
from portal.accounts.tables import User
from portal.db import write_transaction
from portal.mail.tables import OutboundMail

PASSWORD = "a long s3cret phrase"


async def make_user(
    email: str = "ann@example.org",
    role: str = "customer",
    *,
    name: str = "",
    password: str = PASSWORD,
    verified: bool = True,
    active: bool = True,
) -> int:
    user_id, _ = await services.create_user(email, name or email.split("@")[0].title(), password, role)
    changes = {}
    if not verified:
        changes[User.email_verified_at] = None
    if not active:
        changes[User.is_active] = False
    if changes:
        async with write_transaction():
            await User.update(changes).where(User.id == user_id).run()
    return user_id


async def outbox(to: str | None = None) -> list[dict]:
    query = OutboundMail.select().order_by(OutboundMail.id)
    if to:
        query = query.where(OutboundMail.to_address == to)
    return await query


async def user_row(email: str) -> dict | None:
    return await User.select().where(User.email == email).first()
