"""KPI dashboard: /back/reports (page, tickets or booking tab) and /back/reports/export?table=… (CSV)."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.params import FromQuery
from litestar.response import Response, Template

from portal.backoffice import charts, kpis, rollup
from portal.clock import local_today, utcnow
from portal.errors import Invalid, NotFound
from portal.web.access import signed_in_actor
from portal.web.responses import page_or_fragment


async def _report(request: Request) -> tuple[kpis.ReportQuery, kpis.ReportScope, dict | None]:
    """The query, the viewer's scope, and the report (None when the dates cannot make a range)."""
    actor = signed_in_actor(request)
    now = utcnow()
    zone = actor.timezone or "UTC"
    q = kpis.parse_query(dict(request.query_params), zone, local_today(zone, now))
    scope = await kpis.scope_for(actor)
    if q.range_refused:
        return q, scope, None
    build = kpis.booking_report if q.tab == "booking" else kpis.ticket_report
    return q, scope, await build(scope, q, now)


class ReportsController(Controller):
    path = "/back/reports"

    @get("/", name="back:reports")
    async def index(self, request: Request) -> Template:
        q, scope, report = await _report(request)
        context = {
            "q": q,
            "report": report,
            "choices": await kpis.filter_choices(scope),
            "section": "reports",
            "csv_query": urlencode(q.params()),
            "tab_query": {t: urlencode(q.params(tab=t)) for t in ("tickets", "booking")},
            "sample_every": rollup.SAMPLE_EVERY,
            "sample_above": kpis.SAMPLE_ABOVE,
            "typed": {key: request.query_params.get(key, "") for key in ("from", "to")},
            "duration": charts.duration,  # business minutes as "3 h 05 min" in the tables
        }
        return page_or_fragment(
            request,
            "backoffice/reports.html",
            "backoffice/_report.html",
            context,
            status_code=422 if report is None else 200,
        )

    @get("/export", name="back:reports_csv")
    async def csv(self, request: Request, table: FromQuery[str] = "") -> Response:
        q, _, report = await _report(request)
        if report is None:
            raise Invalid(" ".join(q.errors.values()))
        data = report["tables"].get(table)
        if data is None:
            raise NotFound("There is no such table in this report.")
        filename = f"{table}_{q.first}_{q.last}.csv"
        return Response(
            content=charts.csv_text(data["header"], data["rows"]).encode("utf-8"),
            media_type="text/csv",  # Litestar adds "; charset=utf-8"
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
