from litestar import get

from portal.db import fetch


@get("/healthz", name="healthz", media_type="application/json")
async def health() -> dict[str, str]:
    """Liveness plus a database round trip (load balancers take a host out when this fails)."""
    await fetch("SELECT 1 AS ok")
    return {"status": "ok"}
