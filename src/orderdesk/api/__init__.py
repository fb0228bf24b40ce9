"""The operator's surfaces over HTTP: the JSON API, the live event stream and the dashboard."""

from orderdesk.api.alert_feed import AlertFeed
from orderdesk.api.app import create_app
from orderdesk.api.desk import DeskService, KillSwitchState
from orderdesk.api.desk_adapter import EngineDesk
from orderdesk.api.server import ApiServer, check_bind, serve_api

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
