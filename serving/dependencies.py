"""FastAPI dependencies: the process's runtime and the calling key, checked against each route's roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from serving.auth import Caller, authenticate, require
from serving.runtime import Runtime
from serving.tables import Role


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def _key(x_api_key: str | None, authorization: str | None) -> str | None:
    if x_api_key:
        return x_api_key.strip()
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def get_caller(
    runtime: RuntimeDep,
    x_api_key: Annotated[str | None, Header(description="Your API key")] = None,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Caller:
    with runtime.sessions() as session:
        return authenticate(session, _key(x_api_key, authorization))


def role(*roles: Role) -> Callable[[Caller], Caller]:
    def check(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
        return require(caller, *roles)

    return check


KioskCaller = Annotated[Caller, Depends(role(Role.KIOSK))]
StationCaller = Annotated[Caller, Depends(role(Role.STATION))]
ReviewerCaller = Annotated[Caller, Depends(role(Role.REVIEWER))]
AdminCaller = Annotated[Caller, Depends(role(Role.ADMIN))]
