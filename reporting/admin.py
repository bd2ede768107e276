"""Rule sets, adoptions and the reporting clocks in the admin.

Rule sets published for every agency (``agency`` empty) and rule sets in use (adopted, or the
rule set of some incident) are read-only: a change is a new version
(``reporting.services.ruleset_supersede``). An agency administrator may draft the agency's own
rule sets, adopt a rule set from now on, and read the obligations, submissions and reminders;
those change only through ``reporting.services``.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin import RelatedOnlyFieldListFilter
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.admin import AgencyScopedAdmin, AgencyScopedInline
from incidents.models import Incident

from .clock import Status
from .models import (
    RULE_DATA_FIELDS,
    Obligation,
    ObligationRule,
    ReminderDispatch,
    RuleSet,
    RuleSetAdoption,
    Submission,
)


def _in_use_annotations():
    return {
        "_adopted": Exists(RuleSetAdoption.objects.filter(ruleset=OuterRef("pk"))),
        "_used": Exists(Incident.objects.filter(ruleset=OuterRef("pk"))),
    }


def editable_rulesets(ctx):
    """The agency's own rule sets that no agency adopted and no incident uses."""
    return (
        RuleSet.objects.filter(agency=ctx.agency)
        .annotate(**_in_use_annotations())
        .filter(_adopted=False, _used=False)
    )


def ruleset_editable(ruleset, ctx) -> bool:
    return ruleset.agency_id == ctx.agency.pk and not ruleset.in_use


class OwnerFilter(admin.SimpleListFilter):
    title = "published for"
    parameter_name = "owner"

    def lookups(self, request, model_admin):
        return (("shared", "Every agency"), ("own", "This agency"))

    def queryset(self, request, queryset):
        if self.value() == "shared":
            return queryset.filter(agency__isnull=True)
        if self.value() == "own":
            return queryset.filter(agency__isnull=False)
        return queryset


RULE_FIELDS = ("order", *RULE_DATA_FIELDS)


class ObligationRuleInline(AgencyScopedInline):
    """The rules of a rule set, editable only while the rule set is editable."""

    model = ObligationRule
    fields = RULE_FIELDS

    def _editable(self, request, parent) -> bool:
        ctx = self.agency_context(request)
        return ctx is not None and (parent is None or ruleset_editable(parent, ctx))

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(request, obj)


@admin.register(RuleSet)
class RuleSetAdmin(AgencyScopedAdmin):
    allow_add = True
    allow_change = True
    allow_delete = True
    list_display = ("name", "version", "owner", "effective_from", "effective_to", "in_use")
    list_filter = (OwnerFilter,)
    search_fields = ("name", "version", "source")
    list_select_related = ("agency",)
    fields = (
        "name",
        "version",
        "agency",
        "effective_from",
        "effective_to",
        "source",
        "major_criteria",
        "supersedes",
    )
    inlines = (ObligationRuleInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(**_in_use_annotations())

    @admin.display(description="Published for", ordering="agency__abbreviation")
    def owner(self, obj):
        return obj.agency.abbreviation if obj.agency_id else "Every agency"

    @admin.display(description="In use", boolean=True)
    def in_use(self, obj):
        return obj._adopted or obj._used

    def can_change_object(self, request, obj, ctx):
        return ruleset_editable(obj, ctx)

    def can_delete_object(self, request, obj, ctx):
        return ruleset_editable(obj, ctx)


@admin.register(ObligationRule)
class ObligationRuleAdmin(AgencyScopedAdmin):
    allow_add = True
    allow_change = True
    allow_delete = True
    list_display = (
        "title",
        "key",
        "ruleset",
        "anchor",
        "offset",
        "counting",
        "applies_to",
        "order",
    )
    list_filter = (("ruleset", RelatedOnlyFieldListFilter), "anchor", "applies_to")
    search_fields = ("key", "title", "ruleset__name")
    list_select_related = ("ruleset",)
    fields = ("ruleset", *RULE_FIELDS)

    @admin.display(description="Offset")
    def offset(self, obj):
        return f"{obj.offset_amount} {obj.offset_unit}"

    def choices_for(self, request, db_field, ctx):
        if db_field.name == "ruleset" and ctx is not None:
            return editable_rulesets(ctx)
        return super().choices_for(request, db_field, ctx)

    def can_change_object(self, request, obj, ctx):
        return ruleset_editable(obj.ruleset, ctx)

    def can_delete_object(self, request, obj, ctx):
        return ruleset_editable(obj.ruleset, ctx)


class RuleSetAdoptionForm(forms.ModelForm):
    class Meta:
        model = RuleSetAdoption
        fields = ("agency", "ruleset", "offsets")

    def clean(self):
        cleaned = super().clean()
        ruleset = cleaned.get("ruleset")
        offsets = cleaned.get("offsets") or {}
        cleaned["offsets"] = offsets
        if ruleset is None:
            return cleaned
        if ruleset.effective_to and ruleset.effective_to < timezone.now().date():
            self.add_error("ruleset", f"{ruleset} was in effect until {ruleset.effective_to}.")
        if not isinstance(offsets, dict):
            self.add_error("offsets", 'An object of rule keys and amounts, e.g. {"key": 10}.')
            return cleaned
        changeable = set(
            ruleset.rules.filter(agency_may_change_offset=True).values_list("key", flat=True)
        )
        for key, amount in offsets.items():
            if key not in changeable:
                allowed = ", ".join(sorted(changeable)) or "none"
                self.add_error(
                    "offsets", f"Rule {key!r} takes no agency offset (allowed: {allowed})."
                )
            elif isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
                self.add_error("offsets", f"The offset of {key!r} must be a positive integer.")
        return cleaned


@admin.register(RuleSetAdoption)
class RuleSetAdoptionAdmin(AgencyScopedAdmin):
    """Adoptions are history (they decide which rule set governs an incident opened at a
    given moment): one is added, in force from now on, and never changed or removed."""

    allow_add = True
    form = RuleSetAdoptionForm
    list_display = ("ruleset", "adopted_at", "adopted_by", "offsets")
    list_select_related = ("agency", "ruleset", "adopted_by")
    fields = ("agency", "ruleset", "offsets", "adopted_at", "adopted_by")
    readonly_fields = ("adopted_at", "adopted_by")
    ordering = ("-adopted_at", "-pk")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.adopted_at = timezone.now()
            obj.adopted_by = request.user
        super().save_model(request, obj, form, change)


class SubmissionInline(AgencyScopedInline):
    model = Submission
    fields = ("submitted_at", "submitted_by", "channel", "recipients", "reference", "note")
    readonly_fields = fields


class ReminderDispatchInline(AgencyScopedInline):
    model = ReminderDispatch
    fields = ("threshold", "fire_at", "sent_at", "recipients")
    readonly_fields = fields
    show_change_link = False


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(s.value, s.value.replace("_", " ")) for s in Status]

    def queryset(self, request, queryset):
        if self.value() in {s.value for s in Status}:
            return queryset.filter(status=self.value())
        return queryset


@admin.register(Obligation)
class ObligationAdmin(AgencyScopedAdmin):
    """Read-only: obligations are created and recomputed from the rule set, met by
    submissions and waived by an approving official, all through ``reporting.services``."""

    list_display = ("incident", "rule_title", "sequence", "due_at", "status_display", "met_at")
    list_filter = (StatusFilter, ("rule", RelatedOnlyFieldListFilter))
    search_fields = ("incident__number", "rule__title", "rule__key")
    list_select_related = ("incident", "rule")
    fields = (
        "incident",
        "rule",
        "sequence",
        "status_display",
        "anchor_ref",
        "anchor_at",
        "due_at",
        "recipients",
        "created_at",
        "met_at",
        "waived_at",
        "waived_by",
        "waive_reason",
        "withdrawn_at",
        "withdrawn_reason",
    )
    readonly_fields = fields
    inlines = (SubmissionInline, ReminderDispatchInline)

    def get_queryset(self, request):
        return super().get_queryset(request).with_status(timezone.now())

    @admin.display(description="Rule", ordering="rule__title")
    def rule_title(self, obj):
        return obj.rule.title

    @admin.display(description="Status", ordering="status")
    def status_display(self, obj):
        return obj.status.replace("_", " ")


@admin.register(Submission)
class SubmissionAdmin(AgencyScopedAdmin):
    list_display = ("obligation", "submitted_at", "submitted_by", "channel", "reference")
    list_filter = ("channel",)
    search_fields = ("obligation__incident__number", "reference")
    list_select_related = ("obligation__incident", "obligation__rule", "submitted_by")
    fields = (
        "obligation",
        "submitted_at",
        "submitted_by",
        "recipients",
        "channel",
        "reference",
        "note",
        "recorded_at",
        "report_version",
    )
    readonly_fields = fields


@admin.register(ReminderDispatch)
class ReminderDispatchAdmin(AgencyScopedAdmin):
    list_display = ("obligation", "threshold", "fire_at", "sent_at")
    search_fields = ("obligation__incident__number", "threshold")
    list_select_related = ("obligation__incident", "obligation__rule")
    fields = ("obligation", "threshold", "fire_at", "sent_at", "recipients")
    readonly_fields = fields
