"""Compliance inventory builders."""

from compliance.models import Control, Framework


def make_framework(n: int, name: str = "Test framework") -> tuple[Framework, list[Control]]:
    """A framework of ``n`` controls ``ac-1`` … ``ac-n`` (in that order), no baseline."""
    framework = Framework.objects.create(name=name, version="1")
    controls = Control.objects.bulk_create(
        Control(
            framework=framework,
            identifier=f"ac-{i}",
            label=f"AC-{i}",
            title=f"Control {i}",
            sort_key=f"ac-{i:04d}",
        )
        for i in range(1, n + 1)
    )
    return framework, controls
