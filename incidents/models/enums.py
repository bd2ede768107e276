"""The CISA Federal Incident Notification Guidelines' enumerations (April 2017)."""

from django.core.exceptions import ValidationError
from django.db import models


class FunctionalImpact(models.TextChoices):
    NO_IMPACT = "no_impact", "No Impact"
    NO_IMPACT_TO_SERVICES = "no_impact_to_services", "No Impact to Services"
    MINIMAL_NON_CRITICAL = "minimal_non_critical", "Minimal Impact to Non-Critical Services"
    MINIMAL_CRITICAL = "minimal_critical", "Minimal Impact to Critical Services"
    SIGNIFICANT_NON_CRITICAL = (
        "significant_non_critical",
        "Significant Impact to Non-Critical Services",
    )
    DENIAL_NON_CRITICAL = "denial_non_critical", "Denial of Non-Critical Services"
    SIGNIFICANT_CRITICAL = "significant_critical", "Significant Impact to Critical Services"
    DENIAL_CRITICAL = "denial_critical", "Denial of Critical Services/Loss of Control"


class InformationImpact(models.TextChoices):
    NO_IMPACT = "no_impact", "No Impact"
    SUSPECTED = "suspected_not_identified", "Suspected but Not Identified"
    PRIVACY_BREACH = "privacy_data_breach", "Privacy Data Breach"
    PROPRIETARY_BREACH = "proprietary_information_breach", "Proprietary Information Breach"
    DESTRUCTION_NON_CRITICAL = "destruction_non_critical", "Destruction of Non-Critical Systems"
    CRITICAL_DATA_BREACH = "critical_systems_data_breach", "Critical Systems Data Breach"
    CORE_CREDENTIAL = "core_credential_compromise", "Core Credential Compromise"
    DESTRUCTION_CRITICAL = "destruction_critical", "Destruction of Critical System"


class Recoverability(models.TextChoices):
    REGULAR = "regular", "Regular"
    SUPPLEMENTED = "supplemented", "Supplemented"
    EXTENDED = "extended", "Extended"
    NOT_RECOVERABLE = "not_recoverable", "Not Recoverable"


class Location(models.TextChoices):
    BUSINESS_DMZ = "1", "Level 1 – Business DMZ"
    BUSINESS_NETWORK = "2", "Level 2 – Business Network"
    BUSINESS_NETWORK_MANAGEMENT = "3", "Level 3 – Business Network Management"
    CRITICAL_SYSTEM_DMZ = "4", "Level 4 – Critical System DMZ"
    CRITICAL_SYSTEM_MANAGEMENT = "5", "Level 5 – Critical System Management"
    CRITICAL_SYSTEMS = "6", "Level 6 – Critical Systems"
    SAFETY_SYSTEMS = "7", "Level 7 – Safety Systems"
    UNKNOWN = "unknown", "Unknown"


class AttackVector(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    ATTRITION = "attrition", "Attrition"
    WEB = "web", "Web"
    EMAIL_PHISHING = "email_phishing", "Email/Phishing"
    EXTERNAL_MEDIA = "external_removable_media", "External/Removable Media"
    IMPERSONATION = "impersonation_spoofing", "Impersonation/Spoofing"
    IMPROPER_USAGE = "improper_usage", "Improper Usage"
    LOSS_THEFT = "loss_or_theft_of_equipment", "Loss or Theft of Equipment"
    OTHER = "other", "Other"


class NcissLevel(models.IntegerChoices):
    """The agency's own assessed level; CISA's scoring weights are not public."""

    BASELINE = 0, "0 – Baseline (Minor/Blue, Negligible/White)"
    LOW = 1, "1 – Low (Green)"
    MEDIUM = 2, "2 – Medium (Yellow)"
    HIGH = 3, "3 – High (Orange)"
    SEVERE = 4, "4 – Severe (Red)"
    EMERGENCY = 5, "5 – Emergency (Black)"


class IndicatorType(models.TextChoices):
    IPV4 = "ipv4", "IPv4 address"
    IPV6 = "ipv6", "IPv6 address"
    DOMAIN = "domain", "Domain name"
    URL = "url", "URL"
    SHA256 = "sha256", "SHA-256 hash"
    SHA1 = "sha1", "SHA-1 hash"
    MD5 = "md5", "MD5 hash"
    FILE_PATH = "file_path", "File path"
    EMAIL = "email", "Email address"
    CONTAINER_IMAGE = "container_image", "Container image"
    PROCESS = "process", "Process / command line"
    USER_ACCOUNT = "user_account", "User account"
    OTHER = "other", "Other"


def _validate_choices_list(value, choices) -> None:
    if not isinstance(value, list):
        raise ValidationError("Expected a list of values.")
    unknown = [v for v in value if v not in choices.values]
    if unknown:
        raise ValidationError(f"Unknown value(s) {unknown}; allowed: {', '.join(choices.values)}.")
    if len(set(value)) != len(value):
        raise ValidationError("A value is listed twice.")


def validate_information_impact(value) -> None:
    _validate_choices_list(value, InformationImpact)


def validate_attack_vectors(value) -> None:
    _validate_choices_list(value, AttackVector)
