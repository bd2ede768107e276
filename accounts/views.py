"""Sign-in with a second factor, the agency switcher, and the landing redirect."""

import base64
import io

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponsePermanentRedirect, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from . import signin_audit
from .context import SESSION_KEY, AgencyContextError, get_context
from .forms import SignInForm
from .models import Membership, Role


class SignInView(auth_views.LoginView):
    """Django's sign-in page with the throttle's answer: 429 and ``Retry-After`` when the
    account or the address has failed too often (``accounts.signin``)."""

    form_class = SignInForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.refusal is not None:
            response.status_code = 429
            response["Retry-After"] = str(form.refusal.seconds)
        return response


def favicon(request):
    """The icon a browser asks for at /favicon.ico (USWDS's, as the pages name it); resolved
    per request, so the production manifest's hashed name is the one sent."""
    return HttpResponsePermanentRedirect(static("uswds/img/favicons/favicon.ico"))


@login_required
def home(request):
    """Everyone lands on the deadline board; an auditor (holding no other role in the agency
    it acts within) on its audits: its grants and their packages."""
    try:
        ctx = get_context(request)
    except AgencyContextError:
        return redirect("board")
    if ctx.roles == {Role.AUDITOR}:
        return redirect("auditor-home")
    return redirect("board")


@login_required
@require_POST
def switch_agency(request):
    """Make another agency the one this session acts within (only one the user has a role in)."""
    membership = (
        Membership.objects.filter(
            user=request.user, agency__abbreviation=request.POST.get("agency", "")
        )
        .select_related("agency")
        .first()
    )
    if membership is None:
        raise Http404("You hold no role in that agency.")
    request.session[SESSION_KEY] = membership.agency_id
    messages.success(request, f"You are now working in {membership.agency.name}.")
    return HttpResponseRedirect(reverse("home"))


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or reverse("home")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("home")


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@login_required
def mfa_setup(request):
    """Enrol an authenticator app: show the key (QR code and text), confirm with a code."""
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        return redirect("mfa-verify")
    device, _ = TOTPDevice.objects.get_or_create(
        user=request.user, confirmed=False, defaults={"name": "Authenticator app"}
    )
    error = None
    if request.method == "POST":
        token = request.POST.get("token", "").strip().replace(" ", "")
        if device.verify_token(token):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            messages.success(request, "Your authenticator app is set up.")
            return redirect(_next_url(request))
        error = "That code did not match. Enter the 6-digit code your app shows now."
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(
        request,
        "registration/mfa_setup.html",
        {
            "qr": _qr_svg(device.config_url),
            "secret": secret,
            "error": error,
            "next": request.GET.get("next", ""),
        },
        status=400 if error else 200,
    )


@login_required
def mfa_verify(request):
    """Second step of sign-in: the code from the enrolled authenticator app."""
    devices = list(TOTPDevice.objects.filter(user=request.user, confirmed=True))
    if not devices:
        return redirect("mfa-setup")
    error = None
    if request.method == "POST":
        token = request.POST.get("token", "").strip().replace(" ", "")
        device = next((d for d in devices if d.verify_token(token)), None)
        if device is not None:
            otp_login(request, device)
            return redirect(_next_url(request))
        error = "That code did not match. Enter the 6-digit code your app shows now."
        signin_audit.second_factor_failed(request.user)
    return render(
        request,
        "registration/mfa_verify.html",
        {
            "error": error,
            "next": request.GET.get("next", ""),
            "mfa_required": settings.DOCKET_REQUIRE_MFA,
        },
        status=400 if error else 200,
    )
