"""Where the real captures and rule files live (``../shared/data``, never copied into the
project). Absent: the tests that need them skip with the reason — except under ``CI=true``,
where a missing file is a failure."""

import os
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
SCAP_DIR = DATA / "scap"
CAPTURES = ("curl_google.scap", "curl_google_comments.scap", "raw.scap", "test_ipv6_client.scap")


def _require(path: Path, present: bool) -> Path:
    if not present:
        reason = f"real data {path} is absent (../shared/data is not next to the project)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; under CI=true it is required")
        pytest.skip(reason)
    return path


def shared_file(*parts: str) -> Path:
    """A file of ``../shared/data``."""
    path = DATA.joinpath(*parts)
    return _require(path, path.is_file())


def shared_dir(*parts: str) -> Path:
    """A folder of ``../shared/data``."""
    path = DATA.joinpath(*parts)
    return _require(path, path.is_dir())
