"""The Django admin, scoped to the agency the request acts within.

Every ModelAdmin of Docket derives from ``AgencyScopedAdmin`` (inlines from
``AgencyScopedInline``):

- Only an *agency administrator* of the active agency (``accounts.context``: header, session or
  the user's only agency) may use it; auditors never, whatever else they hold. Django's own
  rule still applies on top: only ``is_staff`` accounts sign in to the admin site. Superusers
  get no exception: they too need the role and see only their active agency. Django's model
  permissions are not consulted: Docket's roles decide.
- Every queryset goes through ``accounts.scoping.scope`` (``get_queryset``, hence
  ``get_object``: another agency's id is "not found"), and so do the choices of foreign keys
  and many-to-many fields.
- A direct ``agency`` foreign key is shown disabled (the submitted value is ignored) and forced
  to the active agency on save.
- The default is view-only; an admin opts into ``allow_add`` / ``allow_change`` /
  ``allow_delete`` and may refine them per object.
- Times are shown in the active agency's zone.

Django's own registrations that cannot be scoped to an agency (groups, API tokens, Celery
beat's schedules, django-otp's TOTP devices) are removed here; the user admin is replaced by a
scoped one, whose "Reset second factor" action stands in for the device admin.
"""

from __future__ import annotations

import importlib

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django_otp import devices_for_user
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.trail import record_for
from core.time import format_local

from .context import AgencyContext, AgencyContextError, get_context
from .forms import AdminSignInForm
from .models import Agency, IngestToken, Membership, Role
from .permissions import ACTS
from .scoping import scope
from .services import membership_grant

User = get_user_model()


# --- who may use the admin -------------------------------------------------------------------


def admin_context(request) -> AgencyContext | None:
    """The agency context of ``request`` when its user may use the admin, else ``None``."""
    user = getattr(request, "user", None)
    if user is None or not (user.is_active and user.is_staff):
        return None
    try:
        ctx = get_context(request)
    except AgencyContextError:
        return None
    if not ctx.may("admin_use"):
        return None
    return ctx


def _require_context(request) -> AgencyContext:
    ctx = admin_context(request)
    if ctx is None:
        raise PermissionDenied(ACTS["admin_use"].message)
    return ctx


# --- what the admin may see -----------------------------------------------------------------


def agency_members(agency: Agency) -> QuerySet:
    """Users holding any role in ``agency``."""
    return User._default_manager.filter(
        pk__in=Membership.objects.filter(agency=agency).values("user_id")
    )


def has_direct_agency(model) -> bool:
    """Whether ``model`` has its own ``agency`` foreign key (forced on save)."""
    try:
        field = model._meta.get_field("agency")
    except FieldDoesNotExist:
        return False
    return bool(field.many_to_one) and field.related_model is Agency


def scoped_related(model, ctx: AgencyContext | None) -> QuerySet:
    """The rows of ``model`` that ``ctx`` may pick in a form (none for an unknown model)."""
    manager = model._default_manager
    if ctx is None:
        return manager.none()
    if model is Agency:
        return manager.filter(pk=ctx.agency.pk)
    if model is User:
        return agency_members(ctx.agency)
    if getattr(model, "agency_path", None) is not None:
        return scope(manager.all(), ctx)
    return manager.none()  # fail closed: a model nobody taught the scoping about


ZONED_SUFFIX = "_in_zone"


class ZonedTimesMixin:
    """Every time the admin shows (list columns, read-only fields, inline rows) reads as
    ``format_local`` writes it: the agency's wall clock with its zone, ``2026-03-10 11:30 EDT
    (America/New_York)``. Django would print ``March 10, 2026, 11:30 a.m.`` and leave the
    reader to guess the zone.

    Each ``DateTimeField`` of the model gets a display ``<field>_in_zone`` (same label, sorts
    by the field); list displays, read-only fields and the fieldsets of what is shown read-only
    use it instead of the field. Editable times stay form fields. The zone is the request's
    (``AgencyScopedAdmin`` renders its views in the active agency's zone). A subclass that
    overrides ``get_readonly_fields``, ``get_fields`` or ``get_fieldsets`` calls ``super()``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._zoned_fields = {}
        for field in self.model._meta.concrete_fields:
            if isinstance(field, models.DateTimeField):
                name = field.name + ZONED_SUFFIX
                setattr(self, name, self._zoned_display(field))
                self._zoned_fields[field.name] = name

    def _zoned_display(self, field):
        @admin.display(description=field.verbose_name, ordering=field.name)
        def display(obj):
            value = getattr(obj, field.name)
            if value is None:
                return self.get_empty_value_display()
            return format_local(value, timezone.get_current_timezone())

        return display

    def _zone(self, names, only):
        """``names`` (nested tuples too) with the times in ``only`` replaced by their display."""
        mapped = []
        for name in names:
            if isinstance(name, list | tuple):
                mapped.append(type(name)(self._zone(name, only)))
            elif isinstance(name, str) and name in only:
                mapped.append(self._zoned_fields[name])
            else:
                mapped.append(name)
        return mapped

    def _shown_read_only(self, request, obj) -> set[str]:
        """The time fields this page shows read-only: all of them where nothing can be
        changed (view-only objects and inlines), else the read-only fields."""
        if not self.has_change_permission(request, obj) and (
            obj is not None or isinstance(self, admin.options.InlineModelAdmin)
        ):
            return set(self._zoned_fields)
        readonly = set(self.get_readonly_fields(request, obj))
        return {n for n, shown in self._zoned_fields.items() if n in readonly or shown in readonly}

    def get_list_display(self, request):
        return self._zone(super().get_list_display(request), set(self._zoned_fields))

    def get_readonly_fields(self, request, obj=None):
        return self._zone(super().get_readonly_fields(request, obj), set(self._zoned_fields))

    def get_exclude(self, request, obj=None):
        # A time shown through its display is not also a form field, nor is the display.
        excluded = super().get_exclude(request, obj)
        shown = self._shown_read_only(request, obj)
        if not shown:
            return excluded
        return [*(excluded or ()), *shown, *(self._zoned_fields[n] for n in shown)]

    def get_fieldsets(self, request, obj=None):
        only = self._shown_read_only(request, obj)
        return [
            (title, {**options, "fields": self._zone(options["fields"], only)})
            for title, options in super().get_fieldsets(request, obj)
        ]


class AgencyScopedMixin(ZonedTimesMixin):
    """Queryset and form-field scoping shared by model admins and inlines."""

    def agency_context(self, request) -> AgencyContext | None:
        return admin_context(request)

    def scope_queryset(self, queryset: QuerySet, ctx: AgencyContext) -> QuerySet:
        """``queryset`` limited to the active agency (override for models without an
        ``agency_path``)."""
        return scope(queryset, ctx)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        ctx = self.agency_context(request)
        if ctx is None:
            return queryset.none()
        return self.scope_queryset(queryset, ctx)

    def choices_for(self, request, db_field, ctx: AgencyContext | None) -> QuerySet:
        """The rows a foreign-key or many-to-many field may point to."""
        return scoped_related(db_field.related_model, ctx)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        ctx = self.agency_context(request)
        kwargs["queryset"] = self.choices_for(request, db_field, ctx)
        if db_field.name == "agency" and db_field.related_model is Agency:
            # Shown, never taken from the request: the active agency it is.
            kwargs["disabled"] = True
            kwargs["initial"] = ctx.agency.pk if ctx is not None else None
            kwargs["empty_label"] = None
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        ctx = self.agency_context(request)
        kwargs["queryset"] = self.choices_for(request, db_field, ctx)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


def _secret_hidden(name: str, before, after) -> dict:
    """A changed field as the audit trail keeps it: a password only as "changed"."""
    if "password" in name or "token" in name:
        return {"before": None, "after": "(changed, not recorded)"}
    return {"before": before, "after": after}


class AgencyScopedAdmin(AgencyScopedMixin, admin.ModelAdmin):
    """A ModelAdmin limited to the active agency and to its agency administrators.

    View-only unless ``allow_add`` / ``allow_change`` / ``allow_delete`` say otherwise;
    ``can_change_object`` / ``can_delete_object`` refine the last two per object.
    """

    allow_add = False
    allow_change = False
    allow_delete = False

    def has_module_permission(self, request):
        return self.agency_context(request) is not None

    def has_view_permission(self, request, obj=None):
        return self.agency_context(request) is not None

    def has_add_permission(self, request):
        return self.allow_add and self.agency_context(request) is not None

    def has_change_permission(self, request, obj=None):
        ctx = self.agency_context(request)
        if not self.allow_change or ctx is None:
            return False
        return obj is None or self.can_change_object(request, obj, ctx)

    def has_delete_permission(self, request, obj=None):
        ctx = self.agency_context(request)
        if not self.allow_delete or ctx is None:
            return False
        return obj is None or self.can_delete_object(request, obj, ctx)

    # Times read in the agency's zone, as everywhere else in Docket (stored in UTC).

    def _in_agency_zone(self, request, view, *args, **kwargs):
        ctx = self.agency_context(request)
        if ctx is None:
            return view(request, *args, **kwargs)
        with timezone.override(ctx.agency.tz):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
        return response

    def changelist_view(self, request, extra_context=None):
        return self._in_agency_zone(request, super().changelist_view, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._in_agency_zone(
            request, super().changeform_view, object_id, form_url, extra_context
        )

    def history_view(self, request, object_id, extra_context=None):
        return self._in_agency_zone(request, super().history_view, object_id, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        return self._in_agency_zone(request, super().delete_view, object_id, extra_context)

    def can_change_object(self, request, obj, ctx: AgencyContext) -> bool:
        return True

    def can_delete_object(self, request, obj, ctx: AgencyContext) -> bool:
        return True

    def save_model(self, request, obj, form, change):
        ctx = _require_context(request)
        if has_direct_agency(type(obj)):
            obj.agency = ctx.agency
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        ctx = _require_context(request)
        if has_direct_agency(formset.model):
            for inline_form in formset.forms:
                inline_form.instance.agency = ctx.agency
        super().save_formset(request, form, formset, change)

    # The audit trail: every add, change and delete here is one entry (its inlines with it),
    # with the changed fields before and after.

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        changes = {
            name: _secret_hidden(name, form.initial.get(name) if change else None, value)
            for name, value in form.cleaned_data.items()
            if name in form.changed_data
        }
        for formset in formsets:
            touched = {
                "added": len(getattr(formset, "new_objects", ())),
                "changed": len(getattr(formset, "changed_objects", ())),
                "deleted": len(getattr(formset, "deleted_objects", ())),
            }
            if any(touched.values()):
                changes[f"{formset.model._meta.verbose_name_plural} (inline)"] = touched
        self.audit(request, form.instance, "change" if change else "add", changes=changes)

    def delete_model(self, request, obj):
        self.audit(request, obj, "delete")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.audit(request, obj, "delete")
        super().delete_queryset(request, queryset)

    audit_acts: dict[str, str] = {}

    def audit(self, request, obj, kind: str, *, changes=None, act: str | None = None) -> None:
        """The audit entry of ``kind`` (add, change, delete) of ``obj`` in this admin."""
        ctx = _require_context(request)
        record_for(
            ctx,
            act or self.audit_acts.get(kind, f"admin_{kind}"),
            subject=obj,
            changes=changes or {},
            reason=f"In the administration ({obj._meta.verbose_name}).",
        )


class AgencyScopedInline(AgencyScopedMixin, admin.TabularInline):
    """An inline limited to the active agency; view-only unless told otherwise. The
    permission methods receive the *parent* object."""

    extra = 0
    allow_add = False
    allow_change = False
    allow_delete = False
    show_change_link = True

    def has_view_permission(self, request, obj=None):
        return self.agency_context(request) is not None

    def has_add_permission(self, request, obj=None):
        return self.allow_add and self.agency_context(request) is not None

    def has_change_permission(self, request, obj=None):
        return self.allow_change and self.agency_context(request) is not None

    def has_delete_permission(self, request, obj=None):
        return self.allow_delete and self.agency_context(request) is not None


# --- Django's own registrations ------------------------------------------------------------


UNSCOPED_MODELS = (
    "auth.Group",
    "auth.User",  # replaced by AgencyUserAdmin below
    "authtoken.TokenProxy",
    "django_celery_beat.PeriodicTask",
    "django_celery_beat.IntervalSchedule",
    "django_celery_beat.CrontabSchedule",
    "django_celery_beat.SolarSchedule",
    "django_celery_beat.ClockedSchedule",
    # Any account's TOTP devices (and their secret keys); reset per user through the scoped
    # user admin's "Reset second factor" action instead.
    "otp_totp.TOTPDevice",
)

# Imported before unregistering, so a registration made by an app listed after ``accounts``
# cannot come back later in the admin's autodiscovery.
UNSCOPED_ADMIN_MODULES = ("django_otp.plugins.otp_totp.admin",)


def _unregister_unscoped() -> None:
    """Installation-wide models cannot be scoped to an agency: leave them to operators
    (``manage.py drf_create_token``, the settings' ``CELERY_BEAT_SCHEDULE``, the shell)."""
    for module in UNSCOPED_ADMIN_MODULES:
        app_label = module.rsplit(".", 1)[0]
        if apps.is_installed(app_label):
            importlib.import_module(module)
    for label in UNSCOPED_MODELS:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        if admin.site.is_registered(model):
            admin.site.unregister(model)


_unregister_unscoped()
# The admin's sign-in is throttled like Docket's own and says how long to wait.
admin.site.login_form = AdminSignInForm


# --- agencies, users, memberships ----------------------------------------------------------


@admin.register(Agency)
class AgencyAdmin(AgencyScopedAdmin):
    """The admin's own agency: name, marking and time zone; the abbreviation (in every
    incident number) is fixed once created. Agencies are created by operators."""

    allow_change = True
    list_display = ("abbreviation", "name", "time_zone", "marking", "created_at")
    search_fields = ("abbreviation", "name")
    fields = ("name", "abbreviation", "time_zone", "marking", "created_at")
    readonly_fields = ("abbreviation", "created_at")

    def scope_queryset(self, queryset, ctx):
        return queryset.filter(pk=ctx.agency.pk)


class AgencyUserCreationForm(AdminUserCreationForm):
    role = forms.ChoiceField(
        choices=Role.choices, help_text="The new account's first role in your agency."
    )


@admin.register(User)
class AgencyUserAdmin(AgencyScopedAdmin, DjangoUserAdmin):
    """Accounts holding a role in the active agency. New accounts get their first role here.

    Superusers' accounts and accounts holding roles in other agencies too are read-only: an
    agency administrator must not take over an account that reaches beyond their agency.
    Superuser status, groups and model permissions are not shown: roles decide.
    """

    allow_add = True
    allow_change = True
    add_form = AgencyUserCreationForm
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "email")}),
        ("Access", {"fields": ("is_active", "is_staff")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "role", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")
    list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "is_active",
        "is_staff",
        "second_factor",
    )
    list_filter = ("is_active", "is_staff")
    filter_horizontal = ()
    actions = ("reset_second_factor",)

    def scope_queryset(self, queryset, ctx):
        return queryset.filter(pk__in=agency_members(ctx.agency).values("pk")).annotate(
            _second_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
        )

    def can_change_object(self, request, obj, ctx):
        if obj.is_superuser:
            return False
        return not Membership.objects.filter(user=obj).exclude(agency=ctx.agency).exists()

    @admin.display(description="Second factor", boolean=True)
    def second_factor(self, obj):
        return getattr(obj, "_second_factor", None)

    @admin.action(description="Reset second factor", permissions=["change"])
    def reset_second_factor(self, request, queryset):
        """Remove the selected accounts' second-factor devices: each must enrol again at its
        next sign-in (and a session verified with a removed device is no longer verified).
        The same accounts as for editing: never a superuser's, nor one holding roles in
        another agency."""
        ctx = _require_context(request)
        reset, refused = [], []
        with transaction.atomic():
            for user in queryset.order_by("username"):
                if not self.can_change_object(request, user, ctx):
                    refused.append(user.username)
                    continue
                devices = list(devices_for_user(user, confirmed=None))
                for device in devices:
                    device.delete()
                self.audit(
                    request,
                    user,
                    "change",
                    changes={"second_factor_devices": {"before": len(devices), "after": 0}},
                )
                self.log_change(
                    request, user, f"Reset second factor ({len(devices)} device(s) removed)."
                )
                reset.append(user.username)
        if reset:
            self.message_user(
                request,
                f"Second factor reset for {', '.join(reset)}: they enrol again at their next "
                "sign-in.",
                messages.SUCCESS,
            )
        if refused:
            self.message_user(
                request,
                f"Not reset for {', '.join(refused)}: superusers and accounts holding roles in "
                "another agency are managed by the operators.",
                messages.ERROR,
            )

    def save_model(self, request, obj, form, change):
        ctx = _require_context(request)
        super().save_model(request, obj, form, change)
        if not change:
            membership_grant(user=obj, agency=ctx.agency, role=form.cleaned_data["role"])


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ("user", "agency", "role", "systems")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("systems") and cleaned.get("role") != Role.ISSO:
            self.add_error("systems", "Only ISSOs are assigned information systems.")
        return cleaned


@admin.register(Membership)
class MembershipAdmin(AgencyScopedAdmin):
    """Who holds which role in the agency; ISSOs with the systems they are assigned to."""

    audit_acts = dict.fromkeys(("add", "change", "delete"), "membership_change")

    allow_add = True
    allow_change = True
    allow_delete = True
    form = MembershipForm
    list_display = ("user", "role", "system_list", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__email", "user__first_name", "user__last_name")
    list_select_related = ("user", "agency")
    filter_horizontal = ("systems",)

    def scope_queryset(self, queryset, ctx):
        return queryset.filter(agency=ctx.agency).prefetch_related("systems")

    def get_readonly_fields(self, request, obj=None):
        return ("user",) if obj is not None else ()

    def choices_for(self, request, db_field, ctx):
        if db_field.name == "user" and ctx is not None:
            # Members of the agency, and accounts holding no role anywhere yet: never the
            # people of another agency.
            anywhere = Membership.objects.filter(user=OuterRef("pk"))
            return User._default_manager.filter(
                Q(pk__in=Membership.objects.filter(agency=ctx.agency).values("user_id"))
                | ~Exists(anywhere)
            ).order_by("username")
        return super().choices_for(request, db_field, ctx)

    @admin.display(description="Systems")
    def system_list(self, obj):
        return ", ".join(s.acronym for s in obj.systems.all()) or "—"


# --- ingest tokens --------------------------------------------------------------------------


class IngestTokenAddForm(forms.ModelForm):
    class Meta:
        model = IngestToken
        fields = ("name",)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("A name is required.")
        return name


@admin.register(IngestToken)
class IngestTokenAdmin(AgencyScopedAdmin):
    """The agency's ingest tokens (``POST /api/v1/ingest/falco``). A token is issued here from
    a name: the plain token is shown once, on the token's page right after it is issued, and
    only its sha256 is stored (never shown). Tokens are not edited; they are revoked, and the
    row stays (detections name it).

    The plain token waits for that page in the server-side session (``NEW_TOKEN_KEY``, read
    once and removed), never in a message: Django's messages travel in a cookie, which is
    signed but readable by anyone who sees it."""

    NEW_TOKEN_KEY = "docket_new_ingest_token"  # noqa: S105 (a session key, not a secret)
    audit_acts = {"add": "ingest_token_issue"}

    allow_add = True
    add_form = IngestTokenAddForm
    change_form_template = "admin/accounts/ingesttoken/change_form.html"
    list_display = (
        "name",
        "hint_display",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    )
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "hint")
    list_select_related = ("agency", "created_by")
    fields = (
        "name",
        "agency",
        "hint_display",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = fields
    ordering = ("name", "pk")
    actions = ("revoke_tokens",)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ("name",) if obj is None else super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else super().get_readonly_fields(request, obj)

    @admin.display(description="Token starts with", ordering="hint")
    def hint_display(self, obj):
        return f"{obj.hint}…"

    def has_revoke_permission(self, request):
        return self.agency_context(request) is not None

    def save_model(self, request, obj, form, change):
        ctx = _require_context(request)
        if change:  # nothing of a token changes (view-only), but never let a form write one
            raise PermissionDenied("Ingest tokens are not edited; revoke one instead.")
        row, plain = IngestToken.issue(
            agency=ctx.agency, name=form.cleaned_data["name"], created_by=request.user
        )
        for field in IngestToken._meta.concrete_fields:
            setattr(obj, field.attname, getattr(row, field.attname))
        obj._state.adding, obj._state.db = False, row._state.db
        request.session[self.NEW_TOKEN_KEY] = {"pk": row.pk, "token": plain}
        self.message_user(request, f"Ingest token {row.name!r} issued.", messages.SUCCESS)

    def response_add(self, request, obj, post_url_continue=None):
        # Always to the new token's page: that is where its plain value is shown, once.
        return HttpResponseRedirect(
            reverse(
                "admin:accounts_ingesttoken_change", args=[obj.pk], current_app=self.admin_site.name
            )
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        waiting = request.session.get(self.NEW_TOKEN_KEY)
        if waiting and str(waiting.get("pk")) == str(object_id):
            # Shown once: gone from the session as soon as the page reads it.
            del request.session[self.NEW_TOKEN_KEY]
            extra_context["new_token"] = waiting["token"]
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Revoke selected tokens", permissions=["revoke"])
    def revoke_tokens(self, request, queryset):
        now = timezone.now()
        revoked = 0
        for token in queryset:
            if token.revoked_at is None:
                with transaction.atomic():
                    token.revoke(now=now)
                    self.audit(
                        request,
                        token,
                        "revoke",
                        act="ingest_token_revoke",
                        changes={"revoked_at": {"before": None, "after": now}},
                    )
                self.log_change(request, token, "Revoked.")
                revoked += 1
        self.message_user(request, f"{revoked} ingest token(s) revoked.", messages.SUCCESS)
