"""Front Desk: help desk and appointment booking, server-rendered."""

import os

os.environ.setdefault("PICCOLO_CONF", "portal.piccolo_conf")
