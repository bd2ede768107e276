"""The risk and POA&M API."""
