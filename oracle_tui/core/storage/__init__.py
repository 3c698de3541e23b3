"""Storage: one protocol, a local and an S3 implementation, chosen by the root's form."""

from __future__ import annotations

from oracle_tui.core.errors import OracleError
from oracle_tui.core.redact import has_url_credentials
from oracle_tui.core.storage.base import ObjectInfo, Store
from oracle_tui.core.storage.local import LocalStore
from oracle_tui.core.storage.settings import S3Settings, StoreSpec

__all__ = ["LocalStore", "ObjectInfo", "S3Settings", "Store", "StoreSpec", "open_spec",
           "open_store"]


def open_store(root: str, s3: S3Settings | None = None) -> Store:
    """The store for ``root``: ``s3://bucket/prefix`` (wired by ``s3``) or a local path."""
    if has_url_credentials(root):
        raise OracleError("SECRET_IN_CONFIG", "the root URI carries credentials; they come "
                                              "only from the AWS credential chain", "root")
    if root.startswith("s3://"):
        from oracle_tui.core.storage.s3 import S3Store  # boto3 loads only when needed

        return S3Store.from_uri(root, s3)
    if "://" in root:
        raise OracleError("LOCATOR_INVALID", f"unsupported root scheme: {root}", root)
    return LocalStore(root)


def open_spec(spec: StoreSpec) -> Store:
    """The store a :meth:`Store.spec` describes, opened in this process."""
    return open_store(spec.root, spec.s3)
