"""Storage: one protocol, a local and an S3 implementation, chosen by the root's form."""

from __future__ import annotations

from oracle_tui.core.errors import OracleError
from oracle_tui.core.storage.base import ObjectInfo, Store
from oracle_tui.core.storage.local import LocalStore

__all__ = ["LocalStore", "ObjectInfo", "Store", "open_store"]


def open_store(root: str) -> Store:
    """The store for ``root``: ``s3://bucket/prefix`` or a local path."""
    if root.startswith("s3://"):
        raise OracleError("LOCATOR_INVALID", f"s3:// roots are not supported in this build: {root}")
    return LocalStore(root)
