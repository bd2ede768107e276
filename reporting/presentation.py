"""How an obligation's status looks, everywhere it is shown (the deadline board, the incident
page, the calendar, the reports): its label and its ``usa-tag`` colour. The tag's text always
names the status, so no meaning rests on colour alone."""

from __future__ import annotations

from .clock import Status

STATUS_LABELS = {
    Status.UPCOMING: "Upcoming",
    Status.DUE_SOON: "Due soon",
    Status.OVERDUE: "Overdue",
    Status.MET_ON_TIME: "Met on time",
    Status.MET_LATE: "Met late",
    Status.WAIVED: "Waived",
    Status.WITHDRAWN: "Withdrawn",
}

STATUS_TAG = {
    Status.OVERDUE: "bg-secondary-dark",
    Status.DUE_SOON: "bg-gold text-ink",
    Status.UPCOMING: "bg-primary",
    Status.MET_ON_TIME: "bg-green",
    Status.MET_LATE: "bg-base-darker",
    Status.WAIVED: "bg-base-dark",
    Status.WITHDRAWN: "bg-base-dark",
}

# A report's workflow state (``reporting.models.Report.state``), keyed by the state's value so
# that the enum and the stored string both find it. Same rule: the text names the state.
REPORT_STATE_LABELS = {
    "draft": "Draft",
    "in_review": "In review",
    "approved": "Approved",
    "submitted": "Submitted",
    "superseded": "Superseded",
}

REPORT_STATE_TAG = {
    "draft": "bg-gold text-ink",
    "in_review": "bg-primary",
    "approved": "bg-green",
    "submitted": "bg-base-darker",
    "superseded": "bg-base-dark",
}

# A render job's state (``core.jobs.JobState``), as the version list shows it.
RENDER_STATE_LABELS = {"queued": "Rendering…", "done": "Rendered", "failed": "Failed"}


def report_state_label(state: str) -> str:
    return REPORT_STATE_LABELS.get(str(state), str(state))


def report_state_tag(state: str) -> str:
    return REPORT_STATE_TAG.get(str(state), "bg-base")
