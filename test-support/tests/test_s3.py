"""running_s3: moto's server on 127.0.0.1, answering S3's conditional writes, gone on exit."""

from __future__ import annotations

import socket
from pathlib import Path

import boto3
import pytest
from adp_test_servers.s3 import CREDENTIALS, moto_venv, running_s3
from botocore.exceptions import ClientError


def test_the_server_creates_only_once_and_stops(tmp_path: Path) -> None:
    with running_s3(tmp_path) as s3:
        port = int(s3.endpoint.rsplit(":", 1)[1])
        assert s3.endpoint == f"http://127.0.0.1:{port}"
        assert s3.env["AWS_ENDPOINT_URL"] == s3.endpoint
        s3.create_bucket("probe")
        client = boto3.client(
            "s3",
            endpoint_url=s3.endpoint,
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        client.put_object(Bucket="probe", Key="k", Body=b"1", IfNoneMatch="*")
        with pytest.raises(ClientError) as refused:
            client.put_object(Bucket="probe", Key="k", Body=b"2", IfNoneMatch="*")
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
        assert client.get_object(Bucket="probe", Key="k")["Body"].read() == b"1"
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_the_venv_is_made_once_and_reused() -> None:
    first = moto_venv()
    assert (first / ".adp-complete").is_file()
    assert moto_venv() == first
    assert (first / "bin" / "moto_server").is_file()
