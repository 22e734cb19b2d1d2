"""The release store on S3 (or any S3-compatible server: MinIO, moto) through boto3.

Credentials come only from boto3's standard chain (environment, profile, instance or task
role); ``endpoint_url`` (or ``AWS_ENDPOINT_URL``, which boto3 reads itself) points it at
another server. Nothing here logs or prints a credential. Conditional writes are S3's own:
``IfNoneMatch='*'`` creates only, ``IfMatch=<etag>`` replaces only what was read. 412 (and
404 for an ``IfMatch`` on a key that went away) is PreconditionFailed; 409
ConditionalRequestConflict is Busy, for the caller to retry.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import Any

from adp.releases.names import check_key
from adp.releases.store import (
    UNCHANGED,
    AlreadyExists,
    Blob,
    Busy,
    PreconditionFailed,
    StoreError,
    TooLarge,
    Unchanged,
)

INSTALL = "pip install 'platform-cli[s3]'"


def _boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise StoreError(f"the S3 release store needs boto3: {INSTALL}") from None
    return boto3


def _read_at_most(body: Any, limit: int) -> bytes:
    """Up to ``limit`` bytes of a streaming body (fewer only at its end)."""
    chunks: list[bytes] = []
    left = limit
    while left > 0:
        chunk = body.read(min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class S3Store:
    def __init__(self, bucket: str, endpoint_url: str | None = None, client: Any = None) -> None:
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        if client is None:
            boto3 = _boto3()
            from botocore.config import Config

            # 32 connections: publishers may share one store across threads.
            config = Config(
                retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=32
            )
            client = boto3.client("s3", endpoint_url=endpoint_url or None, config=config)
        self.client = client
        from botocore import exceptions

        self._botocore = exceptions

    @property
    def url(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}{where}"

    def _error(self, error: Exception, key: str, doing: str) -> StoreError:
        """A boto3 failure as a StoreError that says what to do."""
        exc = self._botocore
        if isinstance(error, exc.NoCredentialsError):
            return StoreError(
                f"{doing} {key} in {self.url}: no AWS credentials found; set AWS_ACCESS_KEY_ID "
                "and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run where a role provides them"
            )
        if isinstance(error, exc.EndpointConnectionError | exc.ConnectionError):
            return StoreError(
                f"{doing} {key}: cannot reach {self.url} ({error}); check --endpoint-url"
            )
        if isinstance(error, exc.ClientError):
            code = error.response.get("Error", {}).get("Code", "")
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code == "NoSuchBucket":
                return StoreError(
                    f"{doing} {key}: bucket {self.bucket!r} does not exist ({self.url}); "
                    "create it or fix --bucket"
                )
            if code in {"AccessDenied", "Forbidden", "403"} or status == 403:
                return StoreError(
                    f"{doing} {key} in {self.url}: access denied; the credentials lack "
                    f"permission for s3://{self.bucket}/{key}"
                )
            return StoreError(f"{doing} {key} in {self.url}: {code or status}: {error}")
        return StoreError(f"{doing} {key} in {self.url}: {error}")

    @staticmethod
    def _status(error: Any) -> tuple[str, int | None]:
        return (
            error.response.get("Error", {}).get("Code", ""),
            error.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
        )

    def get(self, key: str, max_bytes: int | None = None) -> Blob | None:
        blob = self.get_changed(key, None, max_bytes)
        assert not isinstance(blob, Unchanged)
        return blob

    def get_changed(
        self, key: str, etag: str | None, max_bytes: int | None = None
    ) -> Blob | Unchanged | None:
        """With ``max_bytes``: an answer whose Content-Length is larger is closed unread (the
        connection is dropped, not drained), and at most ``max_bytes + 1`` bytes of any answer
        are read, whatever its headers say."""
        check_key(key)
        condition = {"IfNoneMatch": etag} if etag else {}
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key, **condition)
            body = answer["Body"]
            try:
                length = answer.get("ContentLength")
                if max_bytes is not None and length is not None and length > max_bytes:
                    raise TooLarge(key, self.url, length, max_bytes)
                data = body.read() if max_bytes is None else _read_at_most(body, max_bytes + 1)
            finally:
                body.close()
            if max_bytes is not None and len(data) > max_bytes:
                raise TooLarge(key, self.url, None, max_bytes)
        except self._botocore.ClientError as error:
            code, status = self._status(error)
            if etag and (status == 304 or code in {"304", "NotModified"}):
                return UNCHANGED
            if code == "NoSuchKey" or (status == 404 and code != "NoSuchBucket"):
                return None
            raise self._error(error, key, "reading") from None
        except self._botocore.BotoCoreError as error:
            raise self._error(error, key, "reading") from None
        return Blob(data, answer["ETag"])

    def _put(self, key: str, data: bytes, **condition: str) -> str:
        try:
            answer = self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **condition)
        except self._botocore.ClientError as error:
            code, status = self._status(error)
            if status == 412 or code == "PreconditionFailed":
                if "IfNoneMatch" in condition:
                    raise AlreadyExists(f"{key} already exists in {self.url}") from None
                raise PreconditionFailed(
                    f"{key} changed since it was read, in {self.url}"
                ) from None
            if status == 409 or code == "ConditionalRequestConflict":
                raise Busy(f"{key}: {code or 409}") from None
            if code == "NoSuchKey" and "IfMatch" in condition:
                raise PreconditionFailed(
                    f"{key} was removed since it was read, in {self.url}"
                ) from None
            raise self._error(error, key, "writing") from None
        except self._botocore.BotoCoreError as error:
            raise self._error(error, key, "writing") from None
        return str(answer["ETag"])

    def put_new(self, key: str, data: bytes) -> str:
        check_key(key)
        return self._put(key, data, IfNoneMatch="*")

    def put_if(self, key: str, data: bytes, etag: str | None) -> str:
        check_key(key)
        if etag is None:
            try:
                return self._put(key, data, IfNoneMatch="*")
            except AlreadyExists as error:
                raise PreconditionFailed(
                    str(error).replace("already exists", "was created by someone else")
                ) from None
        return self._put(key, data, IfMatch=etag)

    def delete(self, key: str) -> None:
        check_key(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except (self._botocore.ClientError, self._botocore.BotoCoreError) as error:
            raise self._error(error, key, "removing") from None

    def list(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item["Key"]
        except (self._botocore.ClientError, self._botocore.BotoCoreError) as error:
            raise self._error(error, prefix, "listing") from None

    def folders(self, prefix: str) -> builtins.list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        found: list[str] = []
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                for item in page.get("CommonPrefixes", []):
                    found.append(item["Prefix"][len(prefix) :].rstrip("/"))
        except (self._botocore.ClientError, self._botocore.BotoCoreError) as error:
            raise self._error(error, prefix, "listing") from None
        return sorted(found)
