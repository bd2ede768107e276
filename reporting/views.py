"""Pages of the reporting clocks: the deadline board, recording a submission, waiving an
obligation, and the personal calendar feed (settings page and the .ics itself).

Every query goes through ``accounts.scoping.scope`` with the agency context of the request (or,
for the calendar feed, the context of the token's owner in each of their agencies).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe
from icalendar import Alarm, Calendar, Event
from icalendar.prop import vDuration

from accounts.context import AgencyContextError, context_for, get_context
from accounts.models import Agency
from accounts.scoping import scope
from compliance.models import InformationSystem
from core.errors import DocketError
from core.time import format_local, time_left
from incidents.models import Incident

from . import services
from .clock import Status
from .forms import BoardFilterForm, SubmissionForm, WaiveForm
from .models import CalendarToken, Obligation, ObligationRule
from .models.obligation import due_soon_window
from .presentation import STATUS_LABELS, STATUS_TAG

WEEK = timedelta(days=7)
MONTH = timedelta(days=30)
URGENT = timedelta(hours=1)  # a countdown this close is shown in bold (docket.js keeps it so)
MET_STATUSES = frozenset({Status.MET_ON_TIME.value, Status.MET_LATE.value})


# usa-tag colour modifiers; the tag's text always names the status (no colour-only meaning).
def obligation_label(ob: Obligation) -> str:
    return f"{ob.rule.title} #{ob.sequence}" if ob.rule.repeatable else ob.rule.title


def _context_or_page(request):
    """The agency context, or the page asking to choose an agency."""
    try:
        return get_context(request), None
    except AgencyContextError as exc:
        return None, render(
            request, "reporting/choose_agency.html", {"problem": str(exc), "nav": "board"}
        )


# --- The deadline board ---------------------------------------------------------------------

SECTIONS = (
    ("overdue", "Overdue", "Past their due time and not yet submitted."),
    ("day", "Due within {hours} hours", "Open, due in the next {hours} hours."),
    ("week", "Due within 7 days", "Open, due within 7 days but more than {hours} hours from now."),
    ("month", "Due within 30 days", "Open, due within 30 days but more than 7 days from now."),
    ("later", "Due later", "Open, due more than 30 days from now."),
    ("met", "Met in the last 7 days", "Submissions recorded for obligations in the last 7 days."),
)
# With a "met" status filter the met section holds every such obligation, whenever it was met:
# the board then lists what the API lists for that status.
MET_ALL = ("Met", "Obligations met by a submission, whenever it was recorded.")
SECTION_KEYS = tuple(key for key, *_ in SECTIONS)
OPEN_SECTIONS = ("overdue", "day", "week", "month", "later")
SECTION_ORDER = {
    "overdue": "Most overdue first",
    "day": "Due soonest first",
    "week": "Due soonest first",
    "month": "Due soonest first",
    "later": "Due soonest first",
    "met": "Most recently met first",
}
SECTION_ROWS = 50  # rows per section on the board, and per page of one section's full list
# What a row of the board shows (the incident's other columns are many and wide).
ROW_FIELDS = (
    "incident__number",
    "incident__title",
    "rule__title",
    "rule__anchor",
    "sequence",
    "due_at",
    "met_at",
    "recipients",
)

OPEN = Q(met_at__isnull=True, waived_at__isnull=True, withdrawn_at__isnull=True)


def _section_filters(now, *, met_since=WEEK) -> dict[str, Q]:
    """The condition of each section, as ``with_status(now)`` would classify the obligation.
    Together the open sections hold every open obligation, however far off its due time.
    ``met_since=None``: the met section holds every met obligation, not only the last week's.

    Written on the columns (not on the status annotation) so that PostgreSQL reads them
    through the partial index on the due time of open obligations and the index on met_at."""
    # Each open section begins where the one before ends, also if DOCKET_DUE_SOON_HOURS is
    # set beyond a week: every open obligation lands in exactly one.
    soon = now + due_soon_window()
    week, month = max(soon, now + WEEK), max(soon, now + MONTH)
    met = Q(met_at__isnull=False, withdrawn_at__isnull=True)
    if met_since is not None:
        met &= Q(met_at__gte=now - met_since)
    return {
        "overdue": OPEN & Q(due_at__lt=now),
        "day": OPEN & Q(due_at__gte=now, due_at__lte=soon),
        "week": OPEN & Q(due_at__gt=soon, due_at__lte=week),
        "month": OPEN & Q(due_at__gt=week, due_at__lte=month),
        "later": OPEN & Q(due_at__gt=month),
        "met": met,
    }


def _section_order(key: str) -> tuple[str, str]:
    return ("-met_at", "-pk") if key == "met" else ("due_at", "pk")


def _board_queryset(ctx, now, filters, *, for_count=False):
    """The obligations of the board the caller sees, with the filters applied.

    ``for_count``: the same rows, with the incident's visibility (still ``scope()``) checked in
    a correlated ``incident_id IN (…)``. PostgreSQL cannot turn that into a join, so it probes
    each counted obligation's incident by primary key instead of hashing every incident of the
    agency (7 ms instead of 30 on 50,000 incidents); the LIMITed row queries do not need it."""
    if for_count:
        visible = scope(Incident.objects.all(), ctx).filter(pk=OuterRef("incident_id"))
        qs = Obligation.objects.filter(incident__in=visible.values("pk")).with_status(now)
    else:
        qs = scope(Obligation.objects.all(), ctx).with_status(now)
    if filters.get("system"):
        qs = qs.filter(incident__systems__pk=filters["system"])
    if filters.get("kind"):
        qs = qs.filter(rule__key=filters["kind"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    return qs


def _section_counts(qs, conditions: dict[str, Q]) -> dict[str, int]:
    """How many obligations each section holds: one query, whatever the number of rows."""
    board_q = Q()
    for condition in conditions.values():
        board_q |= condition
    return qs.filter(board_q).aggregate(
        **{key: Count("pk", filter=condition) for key, condition in conditions.items()}
    )


def _url_pattern(name: str) -> str:
    """The URL of ``name`` with ``{}`` for its one argument, reversed once per page instead of
    once per row (reversing is a large part of rendering a board of 200 rows)."""
    marker = "987654321"
    return reverse(name, args=[marker]).replace(marker, "{}")


def _row(ob: Obligation, now: datetime, tz: ZoneInfo, urls: dict[str, str]) -> dict:
    status = Status(ob.status)
    return {
        "ob": ob,
        "incident": ob.incident,
        "incident_url": urls["incident"].format(quote(ob.incident.number, safe="")),
        "submit_url": urls["submit"].format(ob.pk) + urls["back"],
        "label": obligation_label(ob),
        "recipients": list(ob.recipients),
        "due_local": format_local(ob.due_at, tz),
        "due_iso": ob.due_at.astimezone(UTC).isoformat(),
        "time_left": time_left(ob.due_at, now),
        "urgent": now <= ob.due_at <= now + URGENT,
        "met_local": format_local(ob.met_at, tz) if ob.met_at else "",
        "status": status.value,
        "status_label": STATUS_LABELS[status],
        "status_class": STATUS_TAG[status],
    }


def _section_rows(qs, key: str, condition: Q, start: int, now, tz, urls) -> list[dict]:
    """One page of a section: LIMIT/OFFSET in the database, in the section's order."""
    page = (
        qs.filter(condition)
        .select_related("incident", "rule")
        .only(*ROW_FIELDS)
        .order_by(*_section_order(key))[start : start + SECTION_ROWS]
    )
    return [_row(ob, now, tz, urls) for ob in page]


def _board_kinds(ctx) -> list[tuple[str, str]]:
    """The "Obligation" filter's choices: the rules of the rule sets the agency adopted (read
    from the few rules, not from the many obligations). Keys repeat across versions of a rule
    set; the most recent adoption's title is shown."""
    rules = (
        ObligationRule.objects.filter(ruleset__adoptions__agency=ctx.agency)
        .order_by("key", "-ruleset__adoptions__adopted_at", "-pk")
        .values_list("key", "title")
    )
    kinds: dict[str, str] = {}
    for key, title in rules:
        kinds.setdefault(key, title)
    return [(key, f"{title} ({key})") for key, title in kinds.items()]


def _query(params, **changes) -> str:
    """The current query string with ``changes`` applied (``None`` removes a key)."""
    query = params.copy()
    for name, value in changes.items():
        query.pop(name, None)
        if value is not None:
            query[name] = value
    return query.urlencode()


@login_required
@require_safe
def board(request):
    """The deadline board: per section, the first SECTION_ROWS obligations and the section's
    total; ``?all=<section>`` lists one whole section, SECTION_ROWS a page.

    Every open obligation of the incidents the caller sees is in one of the open sections,
    however far off it falls due; with a status filter the board lists exactly what the API's
    ``?status=`` lists. Queries are constant: systems, rules, one count per board, one LIMITed
    query per section shown (all six, also when a filter leaves a section empty)."""
    ctx, page = _context_or_page(request)
    if page is not None:
        return page
    now = timezone.now()
    tz = ctx.agency.tz
    systems = list(
        scope(InformationSystem.objects.all(), ctx)
        .order_by("acronym")
        .values_list("pk", "acronym", "name")
    )
    form = BoardFilterForm(
        request.GET or None,
        systems=[(pk, f"{acronym} — {name}") for pk, acronym, name in systems],
        kinds=_board_kinds(ctx),
    )
    filters = {}
    if form.is_bound:
        form.is_valid()
        filters = {k: v for k, v in form.cleaned_data.items() if v}
    only = request.GET.get("all")
    if only not in SECTION_KEYS:
        only = None

    qs = _board_queryset(ctx, now, filters)
    met_all = filters.get("status") in MET_STATUSES
    conditions = _section_filters(now, met_since=None if met_all else WEEK)
    counts = _section_counts(_board_queryset(ctx, now, filters, for_count=True), conditions)
    hours = f"{due_soon_window().total_seconds() / 3600:g}"
    params = request.GET.copy()
    urls = {
        "incident": _url_pattern("incident-detail"),
        "submit": _url_pattern("obligation-submit"),
        # Recording a submission from the board comes back to the board, as it was filtered.
        "back": "?" + urlencode({"next": request.get_full_path()}),
    }
    sections = []
    pagination = None
    for key, title, description in SECTIONS:
        if only and key != only:
            continue
        if key == "met" and met_all:
            title, description = MET_ALL
        count = counts[key]
        start = 0
        if only:
            paginator = Paginator(range(count), SECTION_ROWS)  # the count is already known
            current = paginator.get_page(request.GET.get("page"))
            start = current.start_index() - 1 if count else 0
            pagination = {
                "page": current,
                "previous": _query(params, page=str(current.number - 1))
                if current.has_previous()
                else "",
                "next": _query(params, page=str(current.number + 1)) if current.has_next() else "",
            }
        rows = _section_rows(qs, key, conditions[key], start, now, tz, urls)
        sections.append(
            {
                "key": key,
                "title": title.format(hours=hours),
                "description": description.format(hours=hours),
                "order": SECTION_ORDER[key],
                "rows": rows,
                "count": count,
                "truncated": not only and count > len(rows),
                "all_url": "?" + _query(params, all=key, page=None),
            }
        )
    context = {
        "nav": "board",
        "form": form,
        "sections": sections,
        "total": sum(counts.values()) if not only else counts[only],
        "only": only,
        "only_title": sections[0]["title"] if only else "",
        "pagination": pagination,
        "board_url": "?" + _query(params, all=None, page=None),
        "section_rows": SECTION_ROWS,
        "filtered": bool(filters),
        # "2026-03-10 11:00 EDT" and "(America/New_York)": the page may wrap between them.
        "now_parts": format_local(now, tz).rsplit(" ", 1),
        "agency": ctx.agency,
    }
    partial = request.headers.get("HX-Request") == "true" and not request.headers.get("HX-Boosted")
    template = "reporting/_board_results.html" if partial else "reporting/board.html"
    response = render(request, template, context)
    response["Vary"] = "HX-Request"
    return response


# --- Submission and waiver ------------------------------------------------------------------


def _scoped_obligation(ctx, pk) -> Obligation:
    return get_object_or_404(
        scope(Obligation.objects.select_related("incident__agency", "rule"), ctx), pk=pk
    )


def _form_errors(form) -> str:
    return " ".join(f"{form[name].label}: {' '.join(errs)}" for name, errs in form.errors.items())


def _next_url(request) -> str:
    """Where to go once the form is done: the ``next`` the page was opened with (the board
    passes its own URL), if it is a path on this site; else "" (the incident's page)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _obligation_page(request, ob, ctx, form, *, action, status=200, problem=None):
    now = timezone.now()
    state = ob.status_at(now)
    next_url = _next_url(request)
    return render(
        request,
        f"reporting/obligation_{action}.html",
        {
            "ob": ob,
            "label": obligation_label(ob),
            "form": form,
            "problem": problem,
            "due_local": format_local(ob.due_at, ctx.agency.tz),
            "status_label": STATUS_LABELS[state],
            "status_class": STATUS_TAG[state],
            "recipients": ", ".join(ob.recipients),
            "incident_url": reverse("incident-detail", args=[ob.incident.number]),
            "next": next_url,
            "next_label": "Back to the deadlines"
            if next_url.split("?")[0] == reverse("board")
            else "Back",
            "nav": "board",
        },
        status=status,
    )


def _obligation_action(request, pk, *, action, form_class, failure, perform):
    """The shape the submit and waive pages share: GET shows the form, POST validates it and
    calls ``perform(ctx, ob, cleaned_data)``, which writes through a service and returns the
    success message, then goes to ``next`` (when it is a path of this site: the board sends its
    own) or the incident's page. A refusal shows the form again with the service's reason on
    its field, keeping ``next``."""
    ctx, page = _context_or_page(request)
    if page is not None:
        page.status_code = 403  # no agency context: nothing of any obligation is reachable
        return page
    ob = _scoped_obligation(ctx, pk)
    if request.method != "POST":
        return _obligation_page(request, ob, ctx, form_class(obligation=ob), action=action)
    form = form_class(request.POST, obligation=ob)
    if not form.is_valid():
        messages.error(request, f"{failure}. {_form_errors(form)}")
        return _obligation_page(request, ob, ctx, form, action=action, status=400)
    try:
        message = perform(ctx, ob, form.cleaned_data)
    except DocketError as exc:
        field = exc.extra.get("field")
        if field in form.fields:
            form.add_error(field, exc.message)
        messages.error(request, f"{failure}: {exc.message}")
        return _obligation_page(
            request, ob, ctx, form, action=action, status=exc.status, problem=exc.message
        )
    messages.success(request, message)
    return redirect(_next_url(request) or reverse("incident-detail", args=[ob.incident.number]))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def obligation_submit(request, pk):
    """Record that the report went out (GET shows the form; the incident page posts here)."""

    def perform(ctx, ob, data):
        sub = services.submission_record(
            ctx=ctx,
            obligation=ob,
            submitted_at=data["submitted_at"],
            channel=data["channel"],
            reference=data["reference"],
            note=data["note"],
        )
        ob.refresh_from_db()
        state = STATUS_LABELS[ob.status_at(timezone.now())].lower()
        return (
            f"{obligation_label(ob)} for {ob.incident.number}: submission sent "
            f"{format_local(sub.submitted_at, ctx.agency.tz)} recorded ({state})."
        )

    return _obligation_action(
        request,
        pk,
        action="submit",
        form_class=SubmissionForm,
        failure="The submission was not recorded",
        perform=perform,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def obligation_waive(request, pk):
    """An approving official excuses an obligation (GET shows the form)."""

    def perform(ctx, ob, data):
        services.obligation_waive(ctx=ctx, obligation=ob, reason=data["reason"])
        return f"{obligation_label(ob)} for {ob.incident.number} was waived."

    return _obligation_action(
        request,
        pk,
        action="waive",
        form_class=WaiveForm,
        failure="The obligation was not waived",
        perform=perform,
    )


# --- Calendar feed --------------------------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def calendar_settings(request):
    """The user's secret feed URL. Only a sha256 of the token is stored, so the URL can be
    shown only in the response that issues it; visiting again offers to rotate."""
    feed_url = None
    if request.method == "POST":
        _, plain = CalendarToken.issue(request.user, now=timezone.now())
        feed_url = request.build_absolute_uri(reverse("calendar-feed", args=[plain]))
    token = CalendarToken.objects.filter(user=request.user).first()
    try:
        tz = get_context(request).agency.tz
    except AgencyContextError:
        tz = ZoneInfo("UTC")
    issued_at = token and (token.rotated_at or token.created_at)
    return render(
        request,
        "reporting/calendar_settings.html",
        {
            "token": token,
            "feed_url": feed_url,
            "issued_local": format_local(issued_at, tz) if issued_at else "",
            "thresholds": _threshold_labels(),
        },
    )


def _threshold_labels() -> list[str]:
    labels = []
    for hours in settings.DOCKET_REMINDER_THRESHOLDS_HOURS:
        labels.append("at the due time" if not hours else f"{hours:g} h before")
    return labels


class ExactDuration(vDuration):
    """A duration written in hours, minutes and seconds (``-PT72H``, ``PT0S``), never in days:
    an exact span of real time, like the reminder thresholds it mirrors."""

    def to_ical(self) -> bytes:
        seconds = int(self.td.total_seconds())
        sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
        hours, rest = divmod(seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        text = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
        if seconds or not text:
            text += f"{seconds}S"
        return f"{sign}PT{text}".encode()


def _alarm(hours: float, summary: str) -> Alarm:
    """A reminder ``hours`` before the due time (0: at the due time, the event's start)."""
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", summary if not hours else f"{summary} (in {hours:g} h)")
    alarm.add("trigger", ExactDuration(-timedelta(hours=hours)))
    return alarm


def _event(request, ob: Obligation, now: datetime) -> Event:
    incident, tz = ob.incident, ob.incident.agency.tz
    label = obligation_label(ob)
    summary = f"Due: {label} — {incident.number}"
    url = request.build_absolute_uri(reverse("incident-detail", args=[incident.number]))
    event = Event()
    event.add("uid", f"obligation-{ob.pk}@docket")
    event.add("dtstamp", now)
    due = ob.due_at.astimezone(UTC)
    event.add("dtstart", due)
    event.add("dtend", due)
    event.add("summary", summary)
    event.add(
        "description",
        f"{incident.number} ({incident.agency.abbreviation}): {incident.title}\n"
        f"{label}, due {format_local(ob.due_at, tz)}.\n"
        f"Recipients: {', '.join(ob.recipients)}\n"
        f"{url}",
    )
    event.add("url", url)
    for hours in settings.DOCKET_REMINDER_THRESHOLDS_HOURS:
        event.add_component(_alarm(hours, summary))
    return event


@require_safe
def calendar_feed(request, token):
    """The .ics of every open obligation the token's owner sees, in every agency where they
    hold a role. No session: the secret in the URL is the credential."""
    row = CalendarToken.lookup(token)
    if row is None or not row.user.is_active:
        raise Http404("No such calendar feed.")
    user, now = row.user, timezone.now()
    cal = Calendar()
    cal.add("prodid", "-//Docket//Reporting deadlines//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"Docket deadlines — {user.get_username()}")
    cal.add("x-wr-timezone", "UTC")
    for agency in Agency.objects.filter(members__user=user).distinct().order_by("abbreviation"):
        ctx = context_for(user, agency)
        obligations = (
            scope(Obligation.objects.open(), ctx)
            .select_related("incident__agency", "rule")
            .order_by("due_at", "pk")
        )
        for ob in obligations:
            cal.add_component(_event(request, ob, now))
    response = HttpResponse(cal.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    response["Content-Disposition"] = 'inline; filename="docket.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response
