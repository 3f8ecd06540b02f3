from datetime import timedelta

from portal.accounts.services import mail_reset_link
from portal.accounts.tables import AuthToken
from portal.clock import utcnow
from portal.db import write_transaction


async def purge_tokens(payload: dict) -> None:
    """Drop link tokens a day after they expired or were used; they can never work again."""
    cutoff = utcnow() - timedelta(days=1)
    async with write_transaction():
        await AuthToken.delete().where((AuthToken.expires_at < cutoff) | (AuthToken.used_at < cutoff)).run()


async def password_reset_request(payload: dict) -> None:
    await mail_reset_link(payload["email"], payload.get("ip", ""))
