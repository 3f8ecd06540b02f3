"""The application factory: engines, stores, sessions, CSRF, templates, routes and the job worker."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader
from litestar.plugins.flash import FlashConfig, FlashPlugin
from litestar.plugins.htmx import HTMXPlugin, HTMXRequest
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from portal import db
from portal.accounts import services as accounts
from portal.accounts.controllers import AccountController, ProfileController
from portal.backoffice.controllers import BackOfficeController, OutboxController, UsersController
from portal.backoffice.reports_controllers import ReportsController
from portal.booking.back_controllers import HolidaysController, SchedulesController, ServicesController, WhyController
from portal.booking.calendar import drop_feed
from portal.booking.calendar_controllers import CalendarController, StaffFeedAdminController, staff_feed
from portal.booking.controllers import BookingController, ManageByLinkController, MyAppointmentsController
from portal.booking.services import claim_guest_appointments, objection_to_deactivating
from portal.frontoffice.home import home
from portal.job_handlers import register_jobs
from portal.jobs.worker import Worker
from portal.mailin import service as mail_intake
from portal.mailin.controllers import InboundController, MailboxesController
from portal.mailin.original_controllers import mail_original
from portal.settings import Settings, get_settings, use_settings
from portal.tickets import live
from portal.tickets.back_controllers import CannedController, QueueController, events
from portal.tickets.controllers import GuestTicketController, TicketController
from portal.tickets.sla_controllers import SlaController
from portal.tickets.teams_controllers import (
    AgentSettingsController,
    CategoriesController,
    TeamsController,
    availability,
)
from portal.tickets.write import claim_guest_tickets
from portal.web.access import enforce_access_policy
from portal.web.auth import ActorMiddleware
from portal.web.errors import EXCEPTION_HANDLERS
from portal.web.pages import health
from portal.web.security import (
    answer_head_as_get,
    reject_nul_middleware,
    security_headers_hook,
    server_timing_middleware,
)
from portal.web.sessions import PortalSessionConfig
from portal.web.stores import store_registry
from portal.web.templating import STATIC, environment


def _template_config() -> TemplateConfig:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment()))


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    use_settings(settings)
    engine = db.make_engine(settings.database_url)
    db.use_engine(engine)
    # Domains react to account events; accounts knows none of them.
    accounts.on_staff_access_ended(drop_feed)  # a former staff member's calendar feed stops at once
    accounts.on_address_proven(claim_guest_tickets)  # proven guest tickets and bookings join the account
    accounts.on_address_proven(claim_guest_appointments)
    accounts.before_deactivation(objection_to_deactivating)  # not while customers expect them
    register_jobs()  # every process that runs jobs (in-process worker, tests) knows every kind
    worker_holder: dict = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        use_settings(settings)
        db.use_engine(engine)
        await db.open_engine(engine, settings.db_pool_size)
        task = None
        if settings.run_worker_in_process:
            worker = worker_holder["worker"] = Worker()
            task = asyncio.create_task(worker.run(), name="portal-jobs")
        intake = await mail_intake.start_in_app(settings)
        # Everything loaded so far (modules, templates, routes) lives as long as the process: move it
        # out of the collector's sight, so full collections no longer rescan it (a gen-2 pass over the
        # app was 10+ ms in the middle of a request).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if task:
                worker_holder["worker"].stop()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=10)
            await mail_intake.stop(intake)
            await db.close_engine(engine)

    session_config = PortalSessionConfig(
        store="sessions",
        key="session",
        max_age=settings.session_max_age,
        renew_on_access=True,
        secure=settings.secure_cookies,
        httponly=True,
        samesite="lax",
        exclude=["^/static/"],
    )
    template_config = _template_config()
    app = Litestar(
        route_handlers=[
            home,
            health,
            AccountController,
            ProfileController,
            TicketController,
            GuestTicketController,
            BookingController,
            ManageByLinkController,
            MyAppointmentsController,
            BackOfficeController,
            UsersController,
            OutboxController,
            QueueController,
            CannedController,
            mail_original,
            TeamsController,
            CategoriesController,
            AgentSettingsController,
            availability,
            events,
            SlaController,
            ServicesController,
            SchedulesController,
            HolidaysController,
            WhyController,
            CalendarController,
            StaffFeedAdminController,
            staff_feed,
            ReportsController,
            MailboxesController,
            InboundController,
            create_static_files_router(
                path="/static",
                directories=[STATIC],
                name="static",
                cache_control=CacheControlHeader(max_age=31536000, public=True),
            ),
        ],
        guards=[enforce_access_policy],
        middleware=[
            server_timing_middleware(settings.server_timing),
            reject_nul_middleware,
            session_config.middleware,
            ActorMiddleware(),
        ],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_secure=settings.secure_cookies,
            cookie_httponly=False,
            cookie_samesite="lax",
            exclude=["^/static/"],
        ),
        stores=store_registry(settings),
        template_config=template_config,
        plugins=[HTMXPlugin(), FlashPlugin(FlashConfig(template_config=template_config)), live.make_plugin(settings)],
        request_class=HTMXRequest,
        exception_handlers=EXCEPTION_HANDLERS,
        before_send=[security_headers_hook(settings.secure_cookies)],
        lifespan=[lifespan],
        openapi_config=None,
        request_max_body_size=1024 * 1024,  # forms are small; upload routes raise their own limit
        debug=False,
    )
    app.asgi_handler = answer_head_as_get(app.asgi_handler)  # outermost: unrouted paths too
    app.state.settings = settings
    app.state.worker = worker_holder
    return app
