"""Docket's shared plumbing, below every app: errors, the append-only base, time formatting and
DST-safe parsing, canonical JSON and hash chains, domain events, locking, durable jobs, the web
and form plumbing, hashed storage. It defines no models and imports no Docket app (enforced by
the import-linter contract in ``pyproject.toml``; see docs/adr/0012-layers.md)."""
