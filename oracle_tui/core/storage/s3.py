"""S3-compatible store on boto3 (AWS, MinIO, moto): same protocol as the local store.

One LIST page per 1,000 keys, no HEAD per object (LIST gives size and ETag), streamed GETs,
and `PutObject(IfNoneMatch='*')` for every create-if-absent write. Errors map to stable
reason codes; credentials come only from the standard AWS chain and are never printed.
"""

from __future__ import annotations

import bisect
import builtins
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlparse

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from oracle_tui.core.errors import OracleError, TooLarge
from oracle_tui.core.paths import require_safe_key
from oracle_tui.core.redact import has_url_credentials
from oracle_tui.core.storage.base import (
    EMPTY_FOLDER,
    PROBE_BODY,
    PROBE_PREFIX,
    REMOTE_IN_FLIGHT,
    ObjectInfo,
    S3Access,
)
from oracle_tui.core.storage.settings import S3Settings, StoreSpec

BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
T = TypeVar("T")

_THROTTLE = {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded",
             "TooManyRequests", "RequestThrottled"}
_DENIED = {"AccessDenied", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch",
           "AllAccessDisabled", "ExpiredToken", "InvalidToken", "403"}
_MISSING = {"NoSuchKey", "NotFound", "404"}


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, prefix ending in '/' or empty) of an ``s3://bucket/prefix`` root."""
    if not uri.startswith("s3://"):
        raise OracleError("LOCATOR_INVALID", f"not an s3:// URI: {uri!r}", uri)
    bucket, _, prefix = uri[5:].partition("/")
    if not BUCKET_RE.match(bucket):
        raise OracleError("LOCATOR_INVALID", f"bad bucket name in {uri!r}", uri)
    prefix = prefix.strip("/")
    if prefix:
        require_safe_key(prefix, uri)
        prefix += "/"
    return bucket, prefix


def map_error(exc: BaseException, key: str, where: str | None = None) -> OracleError:
    """The reason code for a boto3/botocore failure; the message never carries credentials.
    ``key``: the object as the pack names it (the finding's subject, as on a local root:
    the root itself where it is ""); ``where``: its full address, for the message."""
    if isinstance(exc, OracleError):
        return exc
    at = key or (where or "")  # the finding's subject
    place = where or key
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in _THROTTLE or status in (429, 503):
            return OracleError("STORAGE_THROTTLED", f"throttled ({code or status}) on {place}", at)
        if code in _DENIED or status == 403:
            return OracleError("ACCESS_DENIED", f"access denied ({code or status}) on {place}", at)
        if code == "NoSuchBucket":
            return OracleError("PACK_NOT_FOUND", f"no such bucket for {place}", at)
        if code in _MISSING or status == 404:
            return OracleError("OBJECT_MISSING", f"no such object: {place}", at)
        if status >= 500:
            return OracleError("STORAGE_TIMEOUT", f"server error ({code or status}) on {place}", at)
        return OracleError("LOCATOR_INVALID", f"request refused ({code or status}) on {place}", at)
    if isinstance(exc, NoCredentialsError):
        return OracleError("CREDENTIALS_MISSING", "no AWS credentials found for " + place +
                           ": looked in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the shared "
                           "files (~/.aws/credentials, ~/.aws/config, AWS_PROFILE), web identity "
                           "and the container or instance role", at)
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)):
        url = getattr(exc, "kwargs", {}).get("endpoint_url") or "the endpoint"
        return OracleError("STORAGE_TIMEOUT", f"{url} unreachable or timed out ({place})", at)
    if isinstance(exc, (BotoCoreError, OSError)):
        return OracleError("STORAGE_TIMEOUT", f"{type(exc).__name__} while reading {place}", at)
    raise exc


class _S3Stream:
    """A GetObject body that fills caller-owned buffers (the ReadStream protocol)."""

    def __init__(self, body: Any, key: str, where: str) -> None:
        self._body = body
        self._key, self._where = key, where

    def readinto(self, buffer: bytearray | memoryview, /) -> int:
        try:
            data = self._body.read(len(buffer))
        except Exception as exc:
            raise map_error(exc, self._key, self._where) from exc
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> _S3Stream:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None, /) -> None:
        self.close()


_LOADER: Any = None
_LOADER_LOCK = threading.Lock()


def new_session() -> boto3.session.Session:
    """A fresh boto3 session (credentials and environment read anew, as every store needs)
    sharing one botocore data loader: the service model is parsed once a process instead of
    once a store (half of a client's cost, measured in docs/performance.md)."""
    try:
        return _session_sharing_the_loader()
    except ProfileNotFound as exc:
        raise OracleError("CREDENTIALS_MISSING", f"AWS_PROFILE names the profile "
                                                 f"{exc.kwargs.get('profile')!r}, which no "
                                                 "shared config or credentials file "
                                                 "defines") from None


def _session_sharing_the_loader() -> boto3.session.Session:
    global _LOADER
    core = botocore.session.Session()
    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = core.get_component("data_loader")
        else:
            core.register_component("data_loader", _LOADER)
    session = boto3.session.Session(botocore_session=core)
    session.get_credentials()  # a named profile that does not exist fails here, or above
    return session


class S3Store:
    remote = True

    def __init__(self, bucket: str, prefix: str, settings: S3Settings | None = None,
                 client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.settings = settings or S3Settings()
        self.root_uri = f"s3://{bucket}/{prefix}"
        self.client = client or self._make_client()
        self._probe_lock = threading.Lock()
        self._probed = False

    @classmethod
    def from_uri(cls, uri: str, settings: S3Settings | None = None) -> S3Store:
        bucket, prefix = parse_s3_uri(uri)
        return cls(bucket, prefix, settings)

    def _make_client(self) -> Any:
        s = self.settings
        config = Config(
            retries={"max_attempts": s.max_attempts, "mode": "standard"},
            connect_timeout=s.connect_timeout,
            read_timeout=s.read_timeout,
            max_pool_connections=REMOTE_IN_FLIGHT,
            s3={"addressing_style": "path" if s.path_style else "virtual"},
        )
        kwargs: dict[str, Any] = {"config": config}
        for endpoint in (s.endpoint, os.environ.get("AWS_ENDPOINT_URL", ""),
                         os.environ.get("AWS_ENDPOINT_URL_S3", "")):
            if has_url_credentials(endpoint):
                raise OracleError("SECRET_IN_CONFIG", "the object-store endpoint carries "
                                                      "credentials; use the AWS credential chain")
        if s.endpoint:
            kwargs["endpoint_url"] = s.endpoint
        if s.region:
            kwargs["region_name"] = s.region
        self.session = new_session()
        return self.session.client("s3", **kwargs)

    def s3_access(self) -> S3Access:
        """The store's endpoint, region and URL style, and the credentials the AWS chain
        resolved, for DuckDB's httpfs (the same wiring as this client)."""
        session = getattr(self, "session", None) or new_session()
        creds = session.get_credentials()
        frozen = None if creds is None else creds.get_frozen_credentials()
        endpoint = self.settings.endpoint or os.environ.get("AWS_ENDPOINT_URL", "")
        url = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
        return S3Access(endpoint=url.netloc if endpoint else "",
                        use_ssl=url.scheme == "https" if endpoint else True,
                        region=self.settings.region or self.client.meta.region_name
                        or "us-east-1", path_style=self.settings.path_style,
                        key_id=frozen.access_key if frozen else None,
                        secret=frozen.secret_key if frozen else None,
                        token=(frozen.token or None) if frozen else None)

    def _call(self, key: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except OracleError:
            raise
        except Exception as exc:
            raise map_error(exc, key, self.uri(key)) from exc

    def _key(self, key: str) -> str:
        require_safe_key(key)
        return self.prefix + key

    # -- reading ---------------------------------------------------------------------------
    def root_exists(self) -> bool:
        try:
            resp = self._call("", lambda: self.client.list_objects_v2(
                Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1))
        except OracleError as exc:
            if exc.code == "PACK_NOT_FOUND":
                return False
            raise
        return bool(resp.get("KeyCount", 0))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        full = self.prefix + prefix
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=full,
                                   PaginationConfig={"PageSize": 1000})
        out: list[ObjectInfo] = []
        markers: list[str] = []
        it = iter(pages)
        while True:
            page = self._call(prefix, lambda: next(it, None))
            if page is None:
                break
            for obj in page.get("Contents", []):
                rel = obj["Key"][len(self.prefix):]
                size = int(obj["Size"])
                if not rel or rel.endswith("/"):
                    if size == 0:
                        if rel:
                            markers.append(rel)  # reported only if nothing lies under it
                        continue
                    # A "folder" holding bytes is read by nobody and accounted for by
                    # nothing: listed, so that check reports it.
                    out.append(ObjectInfo(key=rel or "/", size=size, kind="folder marker"))
                    continue
                out.append(ObjectInfo(key=rel, size=size,
                                      etag=str(obj.get("ETag", "")).strip('"') or None))
        out.sort(key=lambda o: o.key)
        keys = [o.key for o in out]
        for marker in markers:
            at = bisect.bisect_left(keys, marker)
            if at == len(keys) or not keys[at].startswith(marker):
                out.append(ObjectInfo(key=marker, size=0, kind=EMPTY_FOLDER))
        out.sort(key=lambda o: o.key)
        return iter(out)

    def head(self, key: str) -> ObjectInfo | None:
        full = self._key(key)
        try:
            resp = self._call(key, lambda: self.client.head_object(Bucket=self.bucket, Key=full))
        except OracleError as exc:
            if exc.code == "OBJECT_MISSING":
                return None
            raise
        return ObjectInfo(key=key, size=int(resp["ContentLength"]),
                          etag=str(resp.get("ETag", "")).strip('"') or None)

    def open_read(self, key: str) -> _S3Stream:
        full = self._key(key)
        resp = self._call(key, lambda: self.client.get_object(Bucket=self.bucket, Key=full))
        return _S3Stream(resp["Body"], key, self.uri(key))

    def read_bytes(self, key: str, max_bytes: int | None = None) -> bytes:
        full = self._key(key)
        resp = self._call(key, lambda: self.client.get_object(Bucket=self.bucket, Key=full))
        body = resp["Body"]
        try:
            if max_bytes is not None and int(resp.get("ContentLength", 0)) > max_bytes:
                raise TooLarge(key, max_bytes)
            data: bytes = self._call(key, body.read)
            return data
        finally:
            body.close()

    def read_tail(self, key: str, nbytes: int) -> bytes:
        full = self._key(key)
        resp = self._call(key, lambda: self.client.get_object(
            Bucket=self.bucket, Key=full, Range=f"bytes=-{nbytes}"))
        body = resp["Body"]
        try:
            data: bytes = self._call(key, body.read)
            return data
        finally:
            body.close()

    def local_path(self, key: str) -> None:
        return None  # objects are fetched, never local files

    def remove_stale_temps(self, directory_key: str = "") -> builtins.list[str]:
        return []  # a PutObject is atomic: an interrupted write leaves nothing behind

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{key}"

    def spec(self) -> StoreSpec:
        return StoreSpec(self.root_uri, self.settings)

    def delete(self, key: str) -> None:
        full = self._key(key)
        self._call(key, lambda: self.client.delete_object(Bucket=self.bucket, Key=full))

    # -- writing ---------------------------------------------------------------------------
    def put_if_absent(self, key: str, data: bytes) -> bool:
        """PutObject with If-None-Match: 412 → it exists; 409 → re-read, then decide."""
        full = self._key(key)
        for _ in range(5):
            try:
                self.client.put_object(Bucket=self.bucket, Key=full, Body=data,
                                       IfNoneMatch="*")
                return True
            except ClientError as exc:
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
                code = str(exc.response.get("Error", {}).get("Code", ""))
                if status == 412 or code == "PreconditionFailed":
                    return False
                if status == 409 or code == "ConditionalRequestConflict":
                    if self.head(key) is not None:
                        return False
                    continue  # the competing write failed: try again
                raise map_error(exc, key, self.uri(key)) from exc
            except Exception as exc:
                raise map_error(exc, key, self.uri(key)) from exc
        raise OracleError("STORAGE_THROTTLED", f"conflicting writes kept failing on {key}", key)

    def put_file_if_absent(self, key: str, path: str) -> bool:
        """put_if_absent for a large local file, streamed from disk."""
        full = self._key(key)
        with open(path, "rb") as fh:
            try:
                self.client.put_object(Bucket=self.bucket, Key=full, Body=fh, IfNoneMatch="*")
                return True
            except ClientError as exc:
                status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
                if status == 412:
                    return False
                raise map_error(exc, key, self.uri(key)) from exc
            except Exception as exc:
                raise map_error(exc, key, self.uri(key)) from exc

    def ensure_conditional_writes(self) -> None:
        """Prove the endpoint refuses a second create-only put before relying on it."""
        with self._probe_lock:
            if self._probed:
                return
            key = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
            if not self.put_if_absent(key, PROBE_BODY):
                raise OracleError("CONDITIONAL_WRITE_UNSUPPORTED",
                                  "a fresh probe key already existed", key)
            if self.put_if_absent(key, b"second write must be refused\n"):
                raise OracleError("CONDITIONAL_WRITE_UNSUPPORTED",
                                  f"{self.root_uri}: the endpoint accepted a second "
                                  "If-None-Match put; create-only writes cannot be trusted", key)
            self._probed = True
