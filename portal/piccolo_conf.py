"""Piccolo's registry. ``DB`` follows PORTAL_DATABASE_URL; ``portal.db.use_engine`` can re-point it."""

from piccolo.conf.apps import AppRegistry

from portal.db import make_engine
from portal.settings import get_settings

DB = make_engine(get_settings().database_url)

APP_REGISTRY = AppRegistry(apps=["portal.piccolo_app"])
