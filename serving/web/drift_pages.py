"""The admin's drift page: flagged stations and cameras, each group's PSI per measure, and the distributions plotted.

Signed in like the reviewer pages (same session cookie), but for admin keys only: a reviewer gets a 403 page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from grading import psi
from serving.auth import Caller
from serving.drift_monitor import DriftDep
from serving.drift_window import GroupKind
from serving.errors import ApiError
from serving.tables import Role
from serving.web.drift_plots import distribution_plot, overview_plot
from serving.web.guard import ReviewerPage
from serving.web.rendering import PageRoute, page

router = APIRouter(prefix="/review", tags=["admin pages"], route_class=PageRoute, include_in_schema=False)


def admin_page(caller: ReviewerPage) -> Caller:
    if caller.role is not Role.ADMIN:
        raise ApiError(403, "wrong_role", "The drift page is for admins; sign in with an admin key to see it.")
    return caller


AdminPage = Annotated[Caller, Depends(admin_page)]


@router.get("/admin/drift")
def drift_page(
    request: Request,
    monitor: DriftDep,
    _caller: AdminPage,
    kind: Annotated[GroupKind | None, Query()] = None,
    fresh: bool = False,
) -> Response:
    report = monitor.report(fresh=fresh)
    groups = [group for group in report.groups if kind is None or group.kind is kind]
    plots = {(group.kind, group.name): [distribution_plot(measure) for measure in group.measures] for group in groups}
    context = {
        "report": report,
        "groups": groups,
        "plots": plots,
        "overview": overview_plot(groups) if groups else None,
        "kinds": list(GroupKind),
        "kind": kind,
        "watch": psi.WATCH,
        "drift": psi.DRIFT,
    }
    return page(request, "drift.html", context)
