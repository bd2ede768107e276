from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from .context import SESSION_KEY
from .models import Membership


@login_required
def home(request):
    """The signed-in landing page: the active agency, its zone, and the way to the API."""
    agencies = {
        m.agency for m in Membership.objects.filter(user=request.user).select_related("agency")
    }
    return render(
        request,
        "accounts/home.html",
        {"agencies": sorted(agencies, key=lambda a: a.abbreviation), "now": timezone.now()},
    )


@login_required
@require_POST
def switch_agency(request):
    """Make another agency the one this session acts within (only one the user has a role in)."""
    membership = Membership.objects.filter(
        user=request.user, agency__abbreviation=request.POST.get("agency", "")
    ).first()
    if membership is None:
        raise Http404("You hold no role in that agency.")
    request.session[SESSION_KEY] = membership.agency_id
    return HttpResponseRedirect(reverse("home"))
