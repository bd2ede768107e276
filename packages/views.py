"""Package pages: the auditor's home (its grants, a package for each), an incident's packages
(ask for one, see it building, download it) and the download itself.

Reads go through ``scope()`` (out of scope: 404); asking, building and downloading are
service calls (``packages.services``), each an audit entry."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.scoping import scope
from core.errors import Conflict
from core.jobs import JobState
from core.storage import CHUNK_SIZE
from core.time import format_local
from evidence.errors import IntegrityFailure
from incidents.models import AuditorGrant, Incident
from incidents.selectors import visible_incident
from incidents.web import with_context

from . import services


def _row(package, tz) -> dict:
    return {
        "package": package,
        "requested": format_local(package.requested_at, tz),
        "finished": format_local(package.finished_at, tz) if package.finished_at else "",
        "building": package.state == JobState.QUEUED,
    }


@with_context
def auditor_home(request, ctx):
    """The grants the caller holds in this agency now (an expired one no longer shows, as its
    incident no longer does), with their window, and each incident's latest package (build
    one, download it)."""
    tz = ctx.agency.tz
    grants = (
        scope(AuditorGrant.objects.select_related("incident__agency", "granted_by"), ctx)
        .filter(user=ctx.user)
        .order_by("incident__number")
    )
    rows = []
    for grant in grants:
        latest = services.visible_packages(ctx, grant.incident).first()
        rows.append(
            {
                "grant": grant,
                "incident": grant.incident,
                "granted": format_local(grant.granted_at, tz),
                "from": format_local(grant.valid_from, tz),
                "until": format_local(grant.valid_until, tz),
                "latest": _row(latest, tz) if latest is not None else None,
            }
        )
    return render(
        request,
        "packages/auditor_home.html",
        {"nav": "auditor", "rows": rows, "tz_key": tz.key, "building": _any_building(rows)},
    )


def _any_building(rows) -> bool:
    return any(r["latest"] and r["latest"]["building"] for r in rows)


@with_context
@require_http_methods(["GET", "POST"])
def incident_packages(request, ctx, number):
    """GET: the incident's packages. POST: ask for a new one (built by the worker)."""
    incident = visible_incident(ctx, number, Incident.objects.select_related("agency"))
    if request.method == "POST":
        services.package_request(ctx=ctx, incident=incident)
        messages.success(request, "The package is being built; this page shows when it is ready.")
        return redirect(reverse("incident-packages", args=[incident.number]))
    tz = incident.agency.tz
    rows = [_row(p, tz) for p in services.visible_packages(ctx, incident)[:50]]
    return render(
        request,
        "packages/incident_packages.html",
        {
            "nav": "incidents",
            "incident": incident,
            "rows": rows,
            "tz_key": tz.key,
            "building": any(r["building"] for r in rows),
        },
    )


@with_context
def package_download(request, ctx, pk):
    package = services.visible_package(ctx, pk)
    back = reverse("incident-packages", args=[package.incident.number])
    try:
        handle = services.package_open(ctx=ctx, package=package)
    except (Conflict, IntegrityFailure) as exc:
        messages.error(request, exc.message)
        return redirect(back)
    response = FileResponse(
        handle, as_attachment=True, filename=package.file_name, content_type="application/zip"
    )
    response.block_size = CHUNK_SIZE
    response["Content-Length"] = str(package.size)
    response["Cache-Control"] = "no-store"
    return response
