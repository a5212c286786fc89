"""A data lake: a local folder or an S3 prefix, behind one small interface (reads, and whole-object writes).

The raw layout is the same in both (`<root>/log_data/...`), so assets, loaders and sensors work with
object keys relative to the root and never care where the root is. S3 goes through dagster-aws's
boto3 (`S3Access`'s connection settings; boto3 honours `AWS_ENDPOINT_URL` for S3-compatible endpoints).
"""

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlparse

import boto3
import botocore.config
import dagster as dg
from pydantic import Field


@dataclass(frozen=True)
class LakeObject:
    key: str
    size: int
    version: str  # the S3 ETag, or the file's modification time: changes when the content is replaced


@dataclass(frozen=True)
class S3Access:
    """What an engine reading s3:// URIs itself (DuckDB's httpfs) needs to reach the lake."""

    region: str | None
    endpoint_url: str | None
    access_key_id: str | None
    secret_access_key: str | None
    session_token: str | None


class DataLake:
    root: str

    def uri(self, key: str) -> str:
        """The object's full address, for engines that read it directly and for messages."""
        raise NotImplementedError

    def stat(self, key: str) -> LakeObject | None:
        raise NotImplementedError

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[LakeObject]:
        """Objects under the prefix in key order, beginning after `start_after`."""
        raise NotImplementedError

    def open(self, key: str) -> BinaryIO:
        raise NotImplementedError

    def put(self, key: str, data: bytes) -> LakeObject:
        """Write the object whole: a reader sees the old content or the new one, never a part of it."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Remove the object; nothing happens when it is not there."""
        raise NotImplementedError

    def s3_access(self) -> S3Access | None:
        """Credentials for engines reading the lake's URIs; None for a local folder."""
        return None


class LocalLake(DataLake):
    def __init__(self, root: str | Path):
        self.root = str(Path(root).expanduser().resolve())

    def _path(self, key: str) -> Path:
        return Path(self.root, key)

    def uri(self, key: str) -> str:
        return str(self._path(key))

    def stat(self, key: str) -> LakeObject | None:
        try:
            info = self._path(key).stat()
        except FileNotFoundError:
            return None
        mtime = dt.datetime.fromtimestamp(info.st_mtime, tz=dt.UTC).isoformat()
        return LakeObject(key=key, size=info.st_size, version=f"mtime:{mtime}")

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[LakeObject]:
        # Walk only the directories that can hold keys after start_after, so listing new days
        # does not grow with the days already seen.
        base = Path(self.root)
        keys = []
        for dirpath, dirnames, filenames in os.walk(base / prefix.rstrip("/")):
            rel_dir = Path(dirpath).relative_to(base).as_posix()
            dirnames[:] = [d for d in dirnames if _may_hold_keys_after(f"{rel_dir}/{d}/", start_after)]
            keys.extend(f"{rel_dir}/{name}" for name in filenames)
        for key in sorted(keys):
            if key.startswith(prefix) and (start_after is None or key > start_after):
                obj = self.stat(key)
                if obj is not None:
                    yield obj

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise FileNotFoundError(f"no such object in the lake: {self.uri(key)}") from None

    def put(self, key: str, data: bytes) -> LakeObject:
        # A temporary file beside the target, then a rename: atomic on one filesystem.
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)
        return self.stat(key)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def _may_hold_keys_after(directory: str, start_after: str | None) -> bool:
    return start_after is None or directory >= start_after[: len(directory)]


class S3Connection(dg.Config):
    """How the lake reaches S3: what dagster-aws's S3Resource configures, kept here because importing dagster-aws
    (0.29) loads Dagster's run storage and daemon with it (its components import dagster._core.test_utils): ~0.9 s
    and ~50 MB on every load of the code location, for a boto3 client. Credentials come from boto3's own chain
    (the environment, a profile, the instance's role)."""

    endpoint_url: str | None = Field(default=None, description="An S3-compatible endpoint (else AWS_ENDPOINT_URL).")
    region_name: str | None = None
    profile_name: str | None = None
    max_attempts: int = Field(default=5, description="boto3's attempts per call, the first included.")

    def session(self) -> boto3.session.Session:
        return boto3.session.Session(profile_name=self.profile_name)

    def client(self):
        return self.session().client(
            "s3",
            region_name=self.region_name,
            endpoint_url=self.endpoint_url,
            config=botocore.config.Config(retries={"max_attempts": self.max_attempts}),
        )


class S3Lake(DataLake):
    def __init__(self, bucket: str, prefix: str, s3: S3Connection):
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.root = f"s3://{bucket}/{self.prefix}"
        self._s3 = s3
        self._client = s3.client()

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{key}"

    def stat(self, key: str) -> LakeObject | None:
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=self.prefix + key)
        except self._client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return LakeObject(key=key, size=head["ContentLength"], version=head["ETag"].strip('"'))

    def list(self, prefix: str, start_after: str | None = None) -> Iterator[LakeObject]:
        kwargs = {"Bucket": self.bucket, "Prefix": self.prefix + prefix}
        if start_after:
            kwargs["StartAfter"] = self.prefix + start_after
        for page in self._client.get_paginator("list_objects_v2").paginate(**kwargs):
            for item in page.get("Contents", []):
                yield LakeObject(
                    key=item["Key"][len(self.prefix) :], size=item["Size"], version=item["ETag"].strip('"')
                )

    def open(self, key: str) -> BinaryIO:
        try:
            return self._client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"]
        except self._client.exceptions.NoSuchKey:
            raise FileNotFoundError(f"no such object in the lake: {self.uri(key)}") from None

    def put(self, key: str, data: bytes) -> LakeObject:
        # A PUT is atomic in S3: the object appears whole, or the old one stays.
        answer = self._client.put_object(
            Bucket=self.bucket, Key=self.prefix + key, Body=data, ContentType="application/json"
        )
        return LakeObject(key=key, size=len(data), version=answer["ETag"].strip('"'))

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=self.prefix + key)

    def s3_access(self) -> S3Access:
        # The same chain boto3 resolves for the client: explicit keys, env, profile or instance role.
        credentials = self._s3.session().get_credentials()
        frozen = credentials.get_frozen_credentials() if credentials else None
        return S3Access(
            region=self._client.meta.region_name,
            endpoint_url=self._s3.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None,
            access_key_id=frozen.access_key if frozen else None,
            secret_access_key=frozen.secret_key if frozen else None,
            session_token=frozen.token if frozen else None,
        )


def open_lake(data_uri: str, s3: S3Connection | None = None) -> DataLake:
    """A lake for `/a/folder`, `file:///a/folder` or `s3://bucket/prefix`."""
    parsed = urlparse(data_uri)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError(f"{data_uri!r} names no bucket; expected s3://bucket/prefix")
        return S3Lake(parsed.netloc, parsed.path, s3 or S3Connection())
    if parsed.scheme == "file":
        return LocalLake(unquote(parsed.path))
    if parsed.scheme == "":
        return LocalLake(data_uri)
    raise ValueError(f"unsupported data lake URI {data_uri!r}: use a folder, file:// or s3://")


class DataLakeResource(dg.ConfigurableResource):
    """The data lake a pipeline reads, configured by its root URI."""

    data_uri: str
    s3: S3Connection = Field(default_factory=S3Connection)

    def get_lake(self) -> DataLake:
        return open_lake(self.data_uri, self.s3)


def lake_resource(data_uri: str) -> DataLakeResource:
    """A pipeline's lake: a folder, or an S3 prefix."""
    return DataLakeResource(data_uri=data_uri)
