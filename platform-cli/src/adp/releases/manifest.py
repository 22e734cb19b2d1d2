"""The two documents of the release store: a release's ``manifest.json`` and a package's
``current.json`` pointer.

A manifest lists every file of its release with size and sha256, so a reader verifies what it
downloaded; its ``package``, ``dags`` and ``files`` fields are also what ``adp dags validate
--env-manifest`` reads to keep DAG ids and file names unique across an environment.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from adp import pydantic_problems
from adp.errors import Failure
from adp.releases import names

FORMAT_VERSION: Literal[1] = 1
_Doc = TypeVar("_Doc", bound=BaseModel)

# Every name in a document is checked as the publisher checks it: a manifest or pointer is
# written by whoever may publish its package, and its names become local paths and store keys.
EnvName = Annotated[str, AfterValidator(names.check_env)]
PackageName = Annotated[str, AfterValidator(names.check_package)]
Version = Annotated[str, AfterValidator(names.check_version)]
Label = Annotated[str, Field(pattern=names.LABEL_PATTERN)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class ManifestError(Failure, ValueError):
    """A manifest or pointer cannot be read; the message names the key and the problem."""


class ManifestFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    path: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return names.check_path(value)


class ManifestDag(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dag_id: str = Field(pattern=names.DAG_ID_PATTERN)
    path: str
    line: int = Field(default=0, ge=0)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        return names.check_path(value)


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format_version: Literal[1] = FORMAT_VERSION
    env: EnvName
    package: PackageName
    version: Version
    created_at: datetime
    publisher: Label
    image_tag: Label | None = None
    git_sha: str | None = Field(default=None, pattern=r"^[0-9a-f]{40}([0-9a-f]{24})?$")
    content_sha256: Sha256
    files: list[ManifestFile]
    dags: list[ManifestDag] = Field(default_factory=list)

    def to_bytes(self) -> bytes:
        return (self.model_dump_json(indent=2) + "\n").encode()


class Pointer(BaseModel):
    """``<env>/<package>/current.json``: the release a package's environment runs, and the one
    it replaced (so the pointer's history can be followed back)."""

    model_config = ConfigDict(extra="forbid")
    format_version: Literal[1] = FORMAT_VERSION
    env: EnvName
    package: PackageName
    version: Version
    manifest_sha256: Sha256
    previous: Version | None = None
    updated_at: datetime
    updated_by: Label
    action: Literal["publish", "rollback"]

    def to_bytes(self) -> bytes:
        return (self.model_dump_json(indent=2) + "\n").encode()


def content_sha256(files: list[ManifestFile]) -> str:
    """One hash of a release's content: paths and file hashes, in path order."""
    digest = hashlib.sha256()
    for item in sorted(files, key=lambda f: f.path):
        digest.update(f"{item.path}\0{item.sha256}\n".encode())
    return digest.hexdigest()


def pack_bytes(files: list[ManifestFile], contents: dict[str, bytes]) -> bytes:
    """A release's pack: the bytes of its files in manifest order, one after the other (the
    manifest's sizes split it), so a reader can fetch a whole release with one request."""
    return b"".join(contents[item.path] for item in files)


def now() -> datetime:
    return datetime.now(UTC)


def _parse(model: type[_Doc], data: bytes, key: str) -> _Doc:
    try:
        return model.model_validate(json.loads(data.decode("utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError(f"{key}: not JSON ({error})") from None
    except RecursionError:
        raise ManifestError(f"{key}: nested too deeply to be a release document") from None
    except ValidationError as error:
        raise ManifestError(f"{key}: {pydantic_problems.first(error, empty='document')}") from None


def parse_manifest(data: bytes, key: str) -> Manifest:
    return _parse(Manifest, data, key)


def parse_pointer(data: bytes, key: str) -> Pointer:
    return _parse(Pointer, data, key)
