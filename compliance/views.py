"""System pages: the inventory, one system's compliance state "as of" an instant, a control's
assessment history, and recording an assessment.

Every page resolves the agency context first and reads systems through
``selectors.systems_visible`` (``scope()``, and for an ISSO their assigned systems) and
frameworks through ``selectors.frameworks_visible``; anything outside them is a 404. The one
write, recording an assessment, is ``services.assessment_record``.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from accounts.pages import agency_view, forbidden_page
from core.errors import DocketError, InvalidInput, NotFound, NotPermitted
from core.time import format_local, to_local_input

from . import selectors, services
from .forms import IMPORT_KINDS, AsOfForm, AssessmentForm, ImportForm
from .models import AssessmentStatus, AuthorizationStatus, Control, InformationSystem

PAGE_SIZE = 25
CONTROLS_PAGE_SIZE = 50
EXPIRING_SOON_DAYS = 90  # an ATO expiring within this many days is flagged
ATTENTION = (AssessmentStatus.OTHER_THAN_SATISFIED, AssessmentStatus.NOT_ASSESSED)
STATUS_TAG = {
    AssessmentStatus.SATISFIED: "bg-green",
    AssessmentStatus.OTHER_THAN_SATISFIED: "bg-secondary-dark",
    AssessmentStatus.NOT_APPLICABLE: "bg-base",
    AssessmentStatus.NOT_ASSESSED: "bg-gold text-ink",
}
ATO_FILTERS = {"expired": "Expired", "soon": f"Expires within {EXPIRING_SOON_DAYS} days"}


# --- plumbing ---------------------------------------------------------------------------------


def with_context(view):
    """``accounts.pages.agency_view`` for the system pages."""
    return agency_view(nav="systems", forbidden=_forbidden)(view)


def _forbidden(request, message):
    return forbidden_page(
        request,
        message,
        template="compliance/forbidden.html",
        nav="systems",
        list_url=reverse("system-list"),
    )


def _system_or_404(ctx, acronym, queryset=None) -> InformationSystem:
    qs = queryset if queryset is not None else selectors.systems_visible(ctx)
    system = qs.filter(acronym=acronym).first()
    if system is None:
        raise Http404("No such information system.")
    return system


def _page_links(page):
    if page.paginator.num_pages <= 1:
        return []
    return list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))


def ato_flag(system: InformationSystem, today: date) -> str:
    """ "expired", "soon" (within ``EXPIRING_SOON_DAYS``) or "" for the ATO's expiry date."""
    if system.ato_expires is None:
        return ""
    if system.ato_expires < today:
        return "expired"
    if system.ato_expires <= today + timedelta(days=EXPIRING_SOON_DAYS):
        return "soon"
    return ""


def _summary_rows(summaries):
    return [
        {
            "framework": s.framework,
            "total": s.total,
            "satisfied": s.satisfied,
            "satisfied_percent": s.satisfied_percent,
            "other_than_satisfied": s.other_than_satisfied,
        }
        for s in summaries
    ]


# --- list -------------------------------------------------------------------------------------


@with_context
def system_list(request, ctx):
    now = timezone.now()
    tz = ctx.agency.tz
    today = now.astimezone(tz).date()
    qs = selectors.with_issos(selectors.systems_visible(ctx).select_related("baseline"), ctx)

    q = request.GET.get("q", "").strip()[:100]
    if q:
        qs = qs.filter(Q(acronym__icontains=q) | Q(name__icontains=q) | Q(component__icontains=q))
    ato = request.GET.get("ato", "")
    if ato in AuthorizationStatus.values:
        qs = qs.filter(ato_status=ato)
    else:
        ato = ""
    expiry = request.GET.get("expiry", "")
    if expiry == "expired":
        qs = qs.filter(ato_expires__lt=today)
    elif expiry == "soon":
        qs = qs.filter(
            ato_expires__gte=today, ato_expires__lte=today + timedelta(days=EXPIRING_SOON_DAYS)
        )
    else:
        expiry = ""
    hva = request.GET.get("hva", "")
    if hva == "yes":
        qs = qs.filter(high_value_asset=True)
    elif hva == "no":
        qs = qs.filter(high_value_asset=False)
    else:
        hva = ""

    page = Paginator(qs.order_by("acronym", "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    systems = list(page.object_list)
    summaries = selectors.compliance_summaries(ctx=ctx, systems=systems, at=now)
    rows = [
        {
            "system": s,
            "url": reverse("system-detail", args=[s.acronym]),
            "ato_flag": ato_flag(s, today),
            "issos": [m.user.get_username() for m in s.isso_list],
            "summaries": _summary_rows(summaries.get(s.pk, [])),
        }
        for s in systems
    ]
    base = [(k, v) for k, v in (("q", q), ("ato", ato), ("expiry", expiry), ("hva", hva)) if v]
    return render(
        request,
        "compliance/system_list.html",
        {
            "nav": "systems",
            "page": page,
            "rows": rows,
            "filters": {"q": q, "ato": ato, "expiry": expiry, "hva": hva},
            "ato_statuses": AuthorizationStatus.choices,
            "expiry_choices": ATO_FILTERS.items(),
            "page_query": urlencode(base),
            "page_links": _page_links(page),
            "list_url": reverse("system-list"),
            "now_local": format_local(now, tz),
            "today": today,
            "soon_days": EXPIRING_SOON_DAYS,
            "tz_key": tz.key,
            "may_import": _may_import(ctx),
        },
    )


# --- detail -----------------------------------------------------------------------------------


def _default_framework(system, frameworks, summaries):
    by_pk = {f.pk: f for f in frameworks}
    if system.baseline_id and system.baseline.framework_id in by_pk:
        return by_pk[system.baseline.framework_id]
    for s in summaries:
        if s.framework.pk in by_pk:
            return by_pk[s.framework.pk]
    return frameworks[0] if frameworks else None


def _render_detail(request, ctx, acronym, *, assess_form=None, status=200):
    now = timezone.now()
    tz = ctx.agency.tz
    system = _system_or_404(
        ctx,
        acronym,
        selectors.with_issos(
            selectors.systems_visible(ctx).select_related("baseline__framework"), ctx
        ),
    )
    frameworks = list(selectors.frameworks_visible(ctx))
    summaries = selectors.compliance_summaries(ctx=ctx, systems=[system], at=now).get(system.pk, [])
    at, framework = now, _default_framework(system, frameworks, summaries)
    data = request.GET.copy() if request.GET else None
    if data is not None and not data.get("framework") and framework is not None:
        data["framework"] = str(framework.pk)
    picker = AsOfForm(data, frameworks=frameworks, now=now, tz=tz, auto_id="asof-%s")
    if request.GET and picker.is_valid():
        at = picker.cleaned_data["as_of"] or now
        chosen = picker.cleaned_data["framework"]
        if chosen:
            framework = next(f for f in frameworks if str(f.pk) == chosen)
    elif request.GET:
        status = 400
    if not picker.is_bound:
        picker = AsOfForm(
            initial={"framework": str(framework.pk) if framework else ""},
            frameworks=frameworks,
            now=now,
            tz=tz,
            auto_id="asof-%s",
        )

    state = None
    attention_page = None
    attention_rows = []
    counts = []
    if framework is not None:
        state = selectors.system_state_as_of(ctx=ctx, system=system, framework=framework, at=at)
        counts = [
            {
                "status": value,
                "label": label,
                "count": state.counts[value],
                "percent": state.percentages[value],
                "tag": STATUS_TAG[value],
            }
            for value, label in AssessmentStatus.choices
        ]
        attention = [c for c in state.controls if c.status in ATTENTION]
        attention_page = Paginator(attention, CONTROLS_PAGE_SIZE).get_page(request.GET.get("page"))
        for c in attention_page.object_list:
            a = c.assessment
            attention_rows.append(
                {
                    "control": c.control,
                    "status": AssessmentStatus(c.status).label,
                    "tag": STATUS_TAG[c.status],
                    "assessment": a,
                    "assessed_local": format_local(a.assessed_at, tz) if a else "",
                    "assessor": a.assessor.get_username() if a and a.assessor else "",
                    "method": a.get_method_display() if a else "",
                    "history_url": _history_url(system, c.control, request.GET.get("as_of")),
                }
            )

    may_record = selectors.may_record_assessments(ctx, system)
    if may_record and assess_form is None:
        assess_form = AssessmentForm(
            initial={
                "framework": framework.pk if framework else None,
                "control": request.GET.get("control", ""),
                "assessed_at": to_local_input(now, tz),
            },
            frameworks=selectors.frameworks_visible(ctx),
            tz=tz,
            auto_id="assess-%s",
        )
    keep = [(k, request.GET[k]) for k in ("framework", "as_of") if request.GET.get(k)]
    today = now.astimezone(tz).date()
    return render(
        request,
        "compliance/system_detail.html",
        {
            "nav": "systems",
            "system": system,
            "issos": [m.user.get_username() for m in system.isso_list],
            "ato_flag": ato_flag(system, today),
            "soon_days": EXPIRING_SOON_DAYS,
            "summaries": _summary_rows(summaries),
            "picker": picker,
            "framework": framework,
            "state": state,
            "at_local": format_local(at, tz),
            "is_now": at == now,
            "counts": counts,
            "attention_page": attention_page,
            "attention_rows": attention_rows,
            "page_links": _page_links(attention_page) if attention_page else [],
            "page_query": urlencode(keep),
            "assess_form": assess_form if may_record else None,
            "assess_url": reverse("system-assess", args=[system.acronym]),
            "detail_url": reverse("system-detail", args=[system.acronym]),
            "list_url": reverse("system-list"),
            "tz_key": tz.key,
        },
        status=status,
    )


def _history_url(system, control, as_of=None) -> str:
    url = reverse("system-control-history", args=[system.acronym, control.pk])
    return f"{url}?{urlencode({'as_of': as_of})}" if as_of else url


@with_context
def system_detail(request, ctx, acronym):
    return _render_detail(request, ctx, acronym)


@with_context
@require_POST
def system_assess(request, ctx, acronym):
    system = _system_or_404(ctx, acronym)
    if not selectors.may_record_assessments(ctx, system):
        return _forbidden(
            request,
            "Only a compliance officer, or an ISSO of this system, may record its assessments.",
        )
    tz = ctx.agency.tz
    form = AssessmentForm(
        request.POST,
        frameworks=selectors.frameworks_visible(ctx),
        tz=tz,
        auto_id="assess-%s",
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            assessment = services.assessment_record(
                ctx=ctx,
                system=system,
                control=data["control_obj"],
                status=data["status"],
                implementation_status=data["implementation_status"],
                assessed_at=data["assessed_at"],
                method=data["method"],
                finding=data["finding"],
            )
        except InvalidInput as exc:
            field = exc.extra.get("field")
            form.add_error(field if field in form.fields else None, exc.message)
        except DocketError as exc:
            if isinstance(exc, NotPermitted | NotFound):
                raise
            form.add_error(None, exc.message)
        else:
            control = assessment.control
            messages.success(
                request,
                f"Assessment of {control.label or control.identifier} recorded: "
                f"{assessment.get_status_display().lower()} from "
                f"{format_local(assessment.assessed_at, tz)}.",
            )
            return redirect(
                reverse("system-detail", args=[system.acronym])
                + "?"
                + urlencode({"framework": control.framework_id})
            )
    return _render_detail(request, ctx, acronym, assess_form=form, status=400)


# --- a control's history ----------------------------------------------------------------------


@with_context
def control_history(request, ctx, acronym, control_pk):
    now = timezone.now()
    tz = ctx.agency.tz
    system = _system_or_404(ctx, acronym)
    control = (
        Control.objects.filter(pk=control_pk, framework__in=selectors.frameworks_visible(ctx))
        .select_related("framework", "parent")
        .first()
    )
    if control is None:
        raise Http404("No such control.")
    picker = AsOfForm(
        request.GET or None, frameworks=[control.framework], now=now, tz=tz, auto_id="asof-%s"
    )
    at, status = now, 200
    if request.GET and picker.is_valid():
        at = picker.cleaned_data["as_of"] or now
    elif request.GET:
        status = 400
    history = selectors.control_history(ctx=ctx, system=system, control=control)
    current = selectors.in_force(history, at)
    rows = [
        {
            "a": a,
            "in_force": a is current,
            "after": a.assessed_at > at,
            "tag": STATUS_TAG[a.status],
            "assessed_local": format_local(a.assessed_at, tz),
            "recorded_local": format_local(a.recorded_at, tz),
            "assessor": a.assessor.get_username() if a.assessor else "",
            "recorded_by": a.recorded_by.get_username() if a.recorded_by else "",
        }
        for a in history
    ]
    return render(
        request,
        "compliance/control_history.html",
        {
            "nav": "systems",
            "system": system,
            "control": control,
            "rows": rows,
            "current": current,
            "current_local": format_local(current.assessed_at, tz) if current else "",
            "picker": picker,
            "at_local": format_local(at, tz),
            "is_now": at == now,
            "detail_url": reverse("system-detail", args=[system.acronym])
            + "?"
            + urlencode({"framework": control.framework_id}),
            "list_url": reverse("system-list"),
            "record_url": reverse("system-detail", args=[system.acronym])
            + "?"
            + urlencode(
                {"framework": control.framework_id, "control": control.label or control.identifier}
            )
            + "#record-assessment",
            "may_record": selectors.may_record_assessments(ctx, system),
            "tz_key": tz.key,
        },
        status=status,
    )


# --- imports ------------------------------------------------------------------------------------


def _may_import(ctx) -> bool:
    """Whether any import is open to ``ctx``: frameworks, crosswalks and the inventory for the
    importer roles, assessments also for ISSOs (of their own systems, row by row)."""
    return ctx.may("compliance_import") or ctx.may("system_record")


def _run_import(ctx, data):
    """The import service for the form's ``kind``: each checks the caller's role and stores the
    whole file or nothing."""
    uploaded = data["file"]
    common = {"ctx": ctx, "filename": uploaded.name}
    kind = data["kind"]
    if kind == "framework":
        return services.framework_file_import(source=uploaded, **common)
    if kind == "crosswalk":
        return services.crosswalk_file_import(source=uploaded, **common)
    if kind == "systems":
        return services.systems_file_import(source=uploaded, **common)
    return services.assessments_file_import(
        source=uploaded,
        **common,
        system=data["system"] or None,
        framework=data["framework"] or None,
    )


@with_context
def compliance_import(request, ctx):
    """Import a framework, crosswalk, inventory or assessments file; the page answers with what
    was created, updated and found unchanged, or with the error naming the line or path (and
    then nothing was stored)."""
    if not _may_import(ctx):
        return _forbidden(
            request,
            "Only a compliance officer or an agency administrator may import (an ISSO: "
            "assessments of their systems).",
        )
    form = ImportForm(request.POST or None, request.FILES or None)
    result, problem, status, uploaded = None, None, 200, None
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        else:
            uploaded = form.cleaned_data["file"]
            try:
                result = _run_import(ctx, form.cleaned_data)
            except NotPermitted:
                raise
            except DocketError as exc:
                problem, status = exc.message, exc.status
                form.add_error("file", exc.message)
            finally:
                uploaded.close()
    labels = dict(IMPORT_KINDS)
    return render(
        request,
        "compliance/import.html",
        {
            "nav": "systems",
            "form": form,
            "result": result,
            "result_label": labels.get(form.data.get("kind", "")) if result else "",
            "filename": uploaded.name if result else "",
            "problem": problem,
            "list_url": reverse("system-list"),
        },
        status=status,
    )
