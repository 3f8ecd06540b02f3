from datetime import datetime, timezone


def utcnow() -> datetime:
    """Aware UTC now: the only form of time the database stores."""
    return datetime.now(timezone.utc)
