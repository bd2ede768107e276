"""Risk assessments (NIST SP 800-30) and POA&M items of information systems, and the POA&M
items made from an incident: services, reads, pages, API, the OSCAL export. The incident side
of compliance (layer L4)."""
