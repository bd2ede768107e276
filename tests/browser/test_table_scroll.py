"""The incident list fits a 1280 px screen, and a table that does not fit its screen says that
it scrolls sideways (rather than cutting off its last column without a word)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MEASURE = """() => {
  const box = document.querySelector('.docket-table-scroll');
  const last = [...box.querySelectorAll('thead th')].pop();
  const hint = box.previousElementSibling;
  return {
    overflowing: box.scrollWidth > box.clientWidth + 1,
    lastRight: last.getBoundingClientRect().right,
    boxRight: box.getBoundingClientRect().right,
    lastHeader: last.innerText.trim(),
    hint: hint && hint.classList.contains('docket-scroll-hint') && !hint.hidden
      ? hint.innerText : null,
  };
}"""


@pytest.fixture
def incidents(open_incident, web_system, hr_system):
    now = timezone.now()
    for i in range(3):
        open_incident(
            now=now - timedelta(hours=3 + i),
            title="Compromised store-frontend-ping-php pod: shell history shredded " * (i + 1),
            systems=[web_system.pk, hr_system.pk],
        )


def test_the_incident_list_fits_1280px_with_its_next_deadline_column(
    signed_in_page, carol, incidents
):
    page = signed_in_page(carol, 1280)
    page.goto("/incidents/")
    seen = page.evaluate(MEASURE)
    assert seen["lastHeader"] == "Next deadline"
    assert not seen["overflowing"], seen
    assert seen["lastRight"] <= seen["boxRight"] + 1, seen
    assert seen["hint"] is None


def test_a_table_too_wide_for_the_screen_says_it_scrolls(signed_in_page, carol, incidents):
    page = signed_in_page(carol, 360)
    page.goto("/incidents/")
    seen = page.evaluate(MEASURE)
    assert seen["overflowing"], seen
    assert seen["hint"] and "Scroll sideways" in seen["hint"], seen
    assert page.get_by_text("Scroll sideways to see every column").is_visible()
