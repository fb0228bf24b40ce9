"""Unknown query parameters are refused, not ignored.

A misspelt flag (``?include_decide=true``) that is silently dropped makes a caller believe it
asked for something it did not get; on an order desk that is worth a 422 naming the parameter.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _declared(route: APIRoute) -> set[str]:
    return _query_names(route.dependant)


async def reject_unknown_query(request: Request) -> None:
    """App-wide dependency: 422 for any query parameter the route does not declare."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - _declared(route))
    if unknown:
        raise RequestValidationError(
            [
                {"loc": ("query", name), "msg": "is not a parameter of this route", "type": "extra"}
                for name in unknown
            ]
        )


__all__ = ["reject_unknown_query"]
