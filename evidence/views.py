"""Evidence pages: an incident's evidence with the upload form, an item's page (metadata,
hashes, format, custody ledger and its chain status, actions), the verified download, and the
custody actions (verify, withdraw, transfer and its acknowledgement).

Reads go through ``scope()`` (out of scope: 404); every write, and every access, is a service
call that writes the custody ledger. Opening an item's page is itself a ``view`` entry.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from accounts.permissions import ACTS
from accounts.scoping import scope
from audit.trail import refuse_out_of_scope
from core.errors import DocketError, InvalidInput, NotFound
from core.storage import CHUNK_SIZE
from core.time import format_local
from incidents.models import Incident
from incidents.selectors import visible_incident
from incidents.web import forbidden, with_context

from . import integrity, services
from .api.views import MULTIPART_SLACK
from .errors import IntegrityFailure, TooLarge
from .forms import TransferForm, UploadForm, WithdrawForm
from .models import CustodyEntry, CustodyTransfer, Evidence, Kind, TransferState
from .multipart import sent_name

FORMAT_NAMES = {"scap": "scap capture", "pcapng": "pcapng", "pcap": "pcap"}


def _incident(ctx, number) -> Incident:
    return visible_incident(ctx, number, Incident.objects.select_related("agency"))


def _evidence(ctx, pk) -> Evidence:
    ev = (
        scope(
            Evidence.objects.select_related("incident__agency", "uploaded_by", "withdrawn_by"), ctx
        )
        .filter(pk=pk)
        .first()
    )
    if ev is None:
        refuse_out_of_scope(ctx, Evidence, what=f"evidence {pk}", pk=pk)
        raise Http404("No such evidence.")
    return ev


def _to_item(ev) -> object:
    return redirect(reverse("evidence-item", args=[ev.pk]))


# --- an incident's evidence ---------------------------------------------------------------


@csrf_exempt  # checked below: csrf_protect on every path that reads the body
def incident_evidence(request, number):
    """GET: the incident's evidence (and the upload form for uploaders). POST: upload one
    file. A body declared over the limit is refused before anything parses it (the CSRF
    check would otherwise spool the whole multipart body to disk first); it is not acted on,
    so it needs no CSRF token."""
    limit = services.max_upload_bytes()
    if request.method == "POST" and _declared_length(request) > limit + MULTIPART_SLACK:
        return _refuse_too_large(request, number, limit=limit)
    return _incident_evidence(request, number)


@with_context
def _refuse_too_large(request, ctx, number, *, limit):
    incident = _incident(ctx, number)
    if not ctx.may("evidence_upload"):
        return forbidden(request, ACTS["evidence_upload"].message)
    form = UploadForm(tz=ctx.agency.tz)  # unbound (the body is not read), with one error
    form.full_clean()
    form.cleaned_data = {}
    form.add_error("file", f"The upload is larger than the limit of {filesizeformat(limit)}.")
    return _render_list(request, ctx, incident, form, status=413)


@csrf_protect
@with_context
def _incident_evidence(request, ctx, number):
    incident = _incident(ctx, number)
    may_upload = ctx.may("evidence_upload")
    tz = ctx.agency.tz
    status = 200
    form = None
    if request.method == "POST":
        if not may_upload:
            return forbidden(request, ACTS["evidence_upload"].message)
        form = UploadForm(request.POST, request.FILES, tz=tz)
        if form.is_valid():
            uploaded = form.cleaned_data["file"]
            try:
                ev = services.evidence_upload(
                    ctx=ctx,
                    incident=incident,
                    fileobj=uploaded,
                    filename=sent_name(uploaded),
                    **form.service_values(),
                )
            except (InvalidInput, TooLarge) as exc:
                field = UploadForm.SERVICE_FIELDS.get(exc.extra.get("field"), "file")
                form.add_error(field, exc.message)
            else:
                messages.success(request, f"{ev.original_filename} stored as evidence {ev.pk}.")
                return _to_item(ev)
            finally:
                uploaded.close()
        status = 400
    elif may_upload:
        form = UploadForm(tz=tz)
    return _render_list(request, ctx, incident, form, status=status)


def _declared_length(request) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _integrity_view(state: integrity.Integrity, tz) -> dict:
    """What the pages show of an item's integrity, times in the agency's zone."""
    last, failure, recovered = state.last, state.failure, state.recovered_from
    return {
        "status": state.status,
        "failed": state.failed,
        "last": last,
        "last_local": format_local(last.at, tz) if last else "",
        "failure": failure,
        "failure_local": format_local(failure.at, tz) if failure else "",
        "recovered": recovered,
        "recovered_local": format_local(recovered.at, tz) if recovered else "",
        "expected_sha256": state.expected_sha256,
        "expected_size": state.expected_size,
    }


def _render_list(request, ctx, incident, form, *, status=200):
    tz = ctx.agency.tz
    items = [
        {
            "ev": ev,
            "url": reverse("evidence-item", args=[ev.pk]),
            "size": filesizeformat(ev.size),
            "format": _format(ev),
            "uploaded_local": format_local(ev.uploaded_at, tz),
            "integrity": _integrity_view(integrity.of(ev), tz),
        }
        for ev in integrity.annotate(scope(Evidence.objects.select_related("uploaded_by"), ctx))
        .filter(incident=incident)
        .order_by("uploaded_at", "pk")
    ]
    return render(
        request,
        "evidence/list.html",
        {
            "nav": "incidents",
            "incident": incident,
            "items": items,
            "failed_items": [row for row in items if row["integrity"]["failed"]],
            "form": form,
            "tz_key": tz.key,
        },
        status=status,
    )


def _format(ev) -> str:
    name = FORMAT_NAMES.get(ev.detected_format, ev.detected_format)
    version = ev.format_details.get("version") if isinstance(ev.format_details, dict) else None
    text = f"{name} {version}" if version else name
    return f"{text} ({ev.compression})" if ev.compression else text


# --- one item -------------------------------------------------------------------------------


def _render_item(request, ctx, ev, *, status=200, action_error=None, forms=None):
    tz = ev.incident.agency.tz
    forms = forms or {}
    entries = list(
        CustodyEntry.objects.filter(evidence=ev)
        .select_related("from_person", "to_person")
        .order_by("seq")
    )
    problems = services.ledger_check(ev, entries)
    holder = services.custodian(ev)
    pending = (
        CustodyTransfer.objects.filter(evidence=ev, state=TransferState.PENDING)
        .select_related("from_person", "to_person", "requested_by")
        .first()
    )
    may_offer = pending is None and services.may_offer_transfer(ctx, ev, holder)
    transfer_form = forms.get("transfer")
    if may_offer and transfer_form is None:
        transfer_form = TransferForm(
            candidates=services.transfer_candidates(ctx, ev, holder), tz=tz
        )
    may_withdraw = ctx.may("evidence_withdraw") and not ev.withdrawn
    details = ev.format_details if isinstance(ev.format_details, dict) else {}
    return render(
        request,
        "evidence/detail.html",
        {
            "nav": "incidents",
            "ev": ev,
            "incident": ev.incident,
            "size": filesizeformat(ev.size),
            "format": _format(ev),
            "details": details,
            "block_counts": sorted((details.get("block_counts") or {}).items()),
            "other_details": sorted(
                (k.replace("_", " ").capitalize(), v)
                for k, v in details.items()
                if k not in ("block_counts", "version")
            ),
            "uploaded_local": format_local(ev.uploaded_at, tz),
            "collected_local": format_local(ev.collected_at, tz) if ev.collected_at else "",
            "withdrawn_local": format_local(ev.withdrawn_at, tz) if ev.withdrawn else "",
            "entries": [
                {"e": e, "at_local": format_local(e.at, tz), "action": e.get_action_display()}
                for e in entries
            ],
            "chain_ok": not problems,
            "chain_problems": problems,
            # The file's content, apart from the ledger's chain: a failed check is the alarm
            # at the top of the page, and the file is not offered for download.
            "integrity": _integrity_view(integrity.from_entries(ev, entries), tz),
            "holder": holder,
            "pending": pending,
            "pending_local": format_local(pending.requested_at, tz) if pending else "",
            "is_receiver": pending is not None and pending.to_person_id == ctx.user.pk,
            "may_cancel": pending is not None
            and pending.to_person_id != ctx.user.pk
            and (pending.requested_by_id == ctx.user.pk or ctx.may("custody_transfer_any")),
            "transfer_form": transfer_form if may_offer else None,
            "withdraw_form": (forms.get("withdraw") or WithdrawForm(tz=tz))
            if may_withdraw
            else None,
            "action_error": action_error,
            "kinds": dict(Kind.choices),
        },
        status=status,
    )


@with_context
def evidence_item(request, ctx, pk):
    ev = _evidence(ctx, pk)
    services.evidence_view(ctx=ctx, evidence=ev)
    return _render_item(request, ctx, ev)


@with_context
def evidence_item_download(request, ctx, pk):
    ev = _evidence(ctx, pk)
    try:
        handle = services.evidence_open(ctx=ctx, evidence=ev, purpose="download")
    except IntegrityFailure as exc:
        return _render_item(request, ctx, ev, status=409, action_error=exc.message)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=ev.original_filename,
        content_type="application/octet-stream",
    )
    response.block_size = CHUNK_SIZE
    response["Content-Length"] = str(ev.size)
    response["Cache-Control"] = "no-store"
    return response


def _action(request, ctx, ev, act, *, done, forms=None):
    """Run ``act()``; on a refusal show the item's page with the service's message."""
    try:
        act()
    except NotFound as exc:
        raise Http404(exc.message) from exc
    except DocketError as exc:  # NotPermitted's status is 403
        return _render_item(
            request, ctx, ev, status=exc.status, action_error=exc.message, forms=forms
        )
    messages.success(request, done)
    return _to_item(ev)


@with_context
@require_POST
def evidence_item_verify(request, ctx, pk):
    ev = _evidence(ctx, pk)
    result = services.evidence_verify(ctx=ctx, evidence=ev)
    if result.ok:
        messages.success(request, "Verified: the stored file matches its SHA-256 and size.")
    else:
        messages.error(
            request,
            f"Verification FAILED: {'; '.join(result.problems)}. The agency administrators "
            "were alerted.",
        )
    return _to_item(ev)


@with_context
@require_POST
def evidence_item_withdraw(request, ctx, pk):
    ev = _evidence(ctx, pk)
    form = WithdrawForm(request.POST, tz=ev.incident.agency.tz)
    if not ctx.may("evidence_withdraw"):
        return forbidden(request, ACTS["evidence_withdraw"].message)
    if not form.is_valid():
        return _render_item(request, ctx, ev, status=400, forms={"withdraw": form})
    return _action(
        request,
        ctx,
        ev,
        lambda: services.evidence_withdraw(
            ctx=ctx, evidence=ev, reason=form.cleaned_data["reason"]
        ),
        done="Evidence withdrawn: it stays, with its ledger, but leaves new reports and packages.",
        forms={"withdraw": form},
    )


@with_context
@require_POST
def evidence_item_transfer(request, ctx, pk):
    ev = _evidence(ctx, pk)
    holder = services.custodian(ev)
    if not services.may_offer_transfer(ctx, ev, holder):
        return forbidden(
            request, "Only the current custodian or an agency administrator may transfer custody."
        )
    form = TransferForm(
        request.POST,
        candidates=services.transfer_candidates(ctx, ev, holder),
        tz=ev.incident.agency.tz,
    )
    if not form.is_valid():
        return _render_item(request, ctx, ev, status=400, forms={"transfer": form})
    receiver = form.receiver()
    return _action(
        request,
        ctx,
        ev,
        lambda: services.transfer_offer(
            ctx=ctx, evidence=ev, to_user=receiver, note=form.cleaned_data["note"]
        ),
        done=f"Transfer offered to {receiver.get_username()}; custody passes when they "
        "acknowledge it.",
        forms={"transfer": form},
    )


@with_context
@require_POST
def evidence_transfer_decide(request, ctx, pk):
    transfer = scope(CustodyTransfer.objects.all(), ctx).filter(pk=pk).first()
    if transfer is None:
        raise Http404("No such transfer.")
    ev = _evidence(ctx, transfer.evidence_id)
    decision = request.POST.get("decision")
    note = request.POST.get("note", "")
    if decision == "accept":
        act = lambda: services.transfer_accept(ctx=ctx, transfer=transfer, note=note)  # noqa: E731
        done = "Custody acknowledged: you now hold this item."
    elif decision == "decline":
        act = lambda: services.transfer_decline(ctx=ctx, transfer=transfer, note=note)  # noqa: E731
        done = (
            "Transfer declined." if transfer.to_person_id == ctx.user.pk else "Transfer cancelled."
        )
    else:
        return _render_item(
            request, ctx, ev, status=400, action_error="Choose to acknowledge or decline."
        )
    return _action(request, ctx, ev, act, done=done)
