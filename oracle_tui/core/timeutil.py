"""UTC timestamps in the one format the pack files use (RFC 3339, microseconds, Z)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
