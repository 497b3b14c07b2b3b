"""Shared fixtures. Tests that need PostgreSQL or Chromium skip when those are absent, except under
``./dev test`` (TEST_STRICT=1), where a skip of that kind is a failure: CI must run everything."""

from __future__ import annotations

import os

import pytest

STRICT = os.environ.get("TEST_STRICT") == "1"


def require(condition: bool, what: str) -> None:
    """Skip (or, under ./dev test, fail) when a real part the test needs is missing."""
    if condition:
        return
    if STRICT:
        pytest.fail(f"{what} is missing; ./dev test installs it")
    pytest.skip(f"{what} is missing; run ./dev test")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The throwaway PostgreSQL server started by ./dev test (TEST_POSTGRES_URL)."""
    url = os.environ.get("TEST_POSTGRES_URL", "")
    require(bool(url), "PostgreSQL (TEST_POSTGRES_URL)")
    return url
