"""The errors services raise. The API maps each to its HTTP status; pages show the message.

``observe(fn)`` has ``fn(error)`` called with each error as it is raised (created): the audit
trail keeps the last one's message as the reason of a refusal a page answered itself.
"""

from collections.abc import Callable

_observers: list[Callable[["DocketError"], None]] = []


def observe(fn: Callable[["DocketError"], None]) -> None:
    """Call ``fn`` with every ``DocketError`` created from now on (once per function)."""
    if fn not in _observers:
        _observers.append(fn)


class DocketError(Exception):
    status = 400

    def __init__(self, message: str, **extra):
        super().__init__(message)
        self.message = message
        self.extra = extra
        for fn in _observers:
            fn(self)


class InvalidInput(DocketError):
    """The request names something impossible (a future decision, an unknown value…)."""

    status = 400


class NotPermitted(DocketError):
    """The actor's role does not allow the act."""

    status = 403


class NotFound(DocketError):
    """Absent, or in another agency: both look the same from outside."""

    status = 404


class Conflict(DocketError):
    """The act does not fit the current state (e.g. a transition not allowed from here)."""

    status = 409
