from django.db import models


class SignInFailure(models.Model):
    """One failed password sign-in (or one in progress: a row is written before the password
    is checked and removed when it was right), the working state of ``accounts.signin``'s
    throttle. Rows older than the throttle's window are pruned; each failure is also logged.

    Not agency data: nobody has an agency before signing in.
    """

    username = models.CharField(max_length=150)
    address = models.CharField(max_length=45, blank=True)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["username", "at"], name="signin_failure_user_at"),
            models.Index(fields=["address", "at"], name="signin_failure_addr_at"),
            models.Index(fields=["at"], name="signin_failure_at"),
        ]

    def __str__(self) -> str:
        return f"Failed sign-in as {self.username!r} from {self.address or 'unknown'}"
