"""The operator's surfaces over HTTP: the JSON API, the live event stream and the dashboard.

The names below are loaded when first used (:mod:`orderdesk.lazy`): every CLI command imports
the API's schemas through :mod:`orderdesk.client`, and loading the app with them (FastAPI, the
store, SQLAlchemy) cost each command 1.7 of its 2.3 seconds of imports (``python -X importtime
-m orderdesk place --help``, 2026-12-04).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderdesk.lazy import exports

if TYPE_CHECKING:
    from orderdesk.api.alert_feed import AlertFeed
    from orderdesk.api.app import create_app
    from orderdesk.api.desk import DeskService, KillSwitchState
    from orderdesk.api.desk_adapter import EngineDesk
    from orderdesk.api.server import ApiServer, check_bind, serve_api

_HOMES = {
    "AlertFeed": "orderdesk.api.alert_feed",
    "ApiServer": "orderdesk.api.server",
    "DeskService": "orderdesk.api.desk",
    "EngineDesk": "orderdesk.api.desk_adapter",
    "KillSwitchState": "orderdesk.api.desk",
    "check_bind": "orderdesk.api.server",
    "create_app": "orderdesk.api.app",
    "serve_api": "orderdesk.api.server",
}


__getattr__ = exports(__name__, _HOMES)

__all__ = [
    "AlertFeed",
    "ApiServer",
    "DeskService",
    "EngineDesk",
    "KillSwitchState",
    "check_bind",
    "create_app",
    "serve_api",
]
