"""``manage.py verify_package FILE.zip``: check an evidence package — the ZIP, the bag (both
payload manifests, Payload-Oxum, both tag manifests, nothing added or removed), the signed
attestation — and, where Docket's database is, that it is a package Docket issued (its
SHA-256 against the recorded packages). Exits non-zero naming each problem."""

import hashlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from core.storage import CHUNK_SIZE
from core.time import format_local
from packages.services import packages_matching
from packages.verify import verify_zip


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


class Command(BaseCommand):
    help = "Verify an evidence package ZIP (bag, manifests, signature, Docket's record)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--offline", action="store_true", help="Do not look for Docket's record of it."
        )

    def handle(self, *args, **options):
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        report = verify_zip(path)
        problems = list(report.problems)
        if not options["offline"]:
            problems += self._recorded(path, report)
        for note in report.notes:
            self.stdout.write(f"note: {note}")
        for problem in problems:
            self.stderr.write(self.style.ERROR(f"FAILED: {problem}"))
        if problems:
            raise CommandError(f"{path}: {len(problems)} problem(s).")
        self.stdout.write(
            self.style.SUCCESS(
                f"OK {path}: bag {report.bag} of {report.info.get('External-Identifier', '?')} "
                f"({report.info.get('Payload-Oxum', '?')}), signature verified"
            )
        )

    def _recorded(self, path: Path, report) -> list[str]:
        sha256 = _sha256(path)
        try:
            matches = list(packages_matching(sha256))
        except DatabaseError as exc:
            report.notes.append(f"Docket's database is not reachable ({exc}); not compared")
            return []
        if not matches:
            return [
                f"Docket recorded no package with SHA-256 {sha256} (not issued by this "
                "installation, or altered since)"
            ]
        for package in matches:
            tz = package.incident.agency.tz
            self.stdout.write(
                f"Issued by Docket: package {package.uid} of {package.incident.number}, built "
                f"{format_local(package.finished_at, tz)}, SHA-256 {sha256}"
            )
        return []
