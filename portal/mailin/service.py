"""Running the intake: the listener (when PORTAL_MAIL_IN_LISTEN is set) and IMAP IDLE, inside
``portal serve`` or alone as ``portal mail-in``."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from portal.mailin import imap, listener
from portal.settings import Settings

log = logging.getLogger("portal.mailin")


@dataclass
class Intake:
    server: asyncio.AbstractServer | None = None
    stop_imap: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


async def start(settings: Settings) -> Intake:
    """Listen (if configured) and start the IMAP loops."""
    intake = Intake()
    if settings.mail_in_listen:
        intake.server = await listener.start(settings.mail_in_listen)
        log.info("mail intake listening on %s", settings.mail_in_listen)
    if settings.mail_imap == "idle":
        intake.tasks.append(asyncio.create_task(imap.idle_forever(intake.stop_imap), name="portal-imap-idle"))
    return intake


async def start_in_app(settings: Settings) -> Intake | None:
    """In ``portal serve``: the intake runs only when PORTAL_MAIL_IN_LISTEN is set. With several
    uvicorn workers each listens on the same TCP port (SO_REUSEPORT); a unix socket is taken by
    the first worker only."""
    if not settings.mail_in_listen:
        return None
    try:
        return await start(settings)
    except OSError as error:
        log.warning("mail intake not started in this process (%s): another one listens", error)
        return None


async def stop(intake: Intake | None) -> None:
    if intake is None:
        return
    intake.stop_imap.set()
    if intake.server is not None:
        intake.server.close()
        await intake.server.wait_closed()
    for task in intake.tasks:  # IDLE loops log out within about a second of the stop
        try:
            await asyncio.wait_for(task, timeout=10)
        except (TimeoutError, asyncio.CancelledError, Exception):  # noqa: BLE001 - shutting down anyway
            task.cancel()
