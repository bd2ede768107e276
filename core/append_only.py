"""Records that are never changed or removed once written (NIST AU-9, PCI DSS 10.3.2).

``AppendOnlyModel`` refuses updates and deletes through the instance and the queryset; each
concrete model also gets a PostgreSQL trigger in its migrations, so not even raw SQL rewrites
history. Subclasses name what they hold in ``append_only_message``.
"""

from django.db import models


class AppendOnlyError(Exception):
    """Raised on any attempt to change or delete an append-only record."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(self.model.append_only_message)

    def delete(self):
        raise AppendOnlyError(self.model.append_only_message)


class AppendOnlyModel(models.Model):
    append_only_message = "These records are append-only."

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(self.append_only_message)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(self.append_only_message)
