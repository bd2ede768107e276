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
