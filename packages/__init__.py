"""Evidence packages for auditors: an incident's record as a BagIt 1.0 bag in one streamed,
signed ZIP (``docs/adr/0022-evidence-packages.md``)."""
