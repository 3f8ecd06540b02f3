from litestar import get
from litestar.response import Template

from portal.db import fetch
from portal.web.connection import PortalRequest


@get("/", name="home", sync_to_thread=False)
def home(request: PortalRequest) -> Template:
    return Template("front/home.html")


@get("/healthz", name="healthz", media_type="application/json")
async def health() -> dict[str, str]:
    """Liveness plus a database round trip (load balancers take a host out when this fails)."""
    await fetch("SELECT 1 AS ok")
    return {"status": "ok"}
