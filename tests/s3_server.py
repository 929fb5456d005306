"""A real S3 API on loopback for tests: moto's server mode in a subprocess, and django-storages pointed at it.

Use it from any test module (or conftest) with

    from tests.s3_server import s3_endpoint, s3_storage  # noqa: F401

`s3_endpoint` (session) starts one server; `s3_storage` (per test) creates a fresh bucket and switches
the default storage to django-storages' S3 backend on it through `settings` overrides, so
`infrastructure.storage` presigns real URLs that a plain HTTP GET can fetch. No AWS account or network is
used.
"""

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass

import boto3
import pytest
import requests

from tests.concurrency import wait_until
from tests.http_servers import free_port

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"


def _answers(url: str, process: subprocess.Popen) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"moto server exited early with status {process.returncode}")
    requests.get(f"{url}/moto-api/", timeout=1)
    return True


@pytest.fixture(scope="session")
def s3_endpoint():
    """URL of a moto S3 server running in its own process on a free loopback port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_until(
            lambda: _answers(url, process),
            timeout=30,
            interval=0.1,
            ignore=(requests.ConnectionError,),
            message=f"moto server did not start on {url}",
        )
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class S3Bucket:
    endpoint_url: str
    bucket: str
    client: object  # a boto3 S3 client with the test credentials

    def keys(self, prefix: str = "") -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for item in listing.get("Contents", [])]

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()


def s3_storage_settings(endpoint_url: str, bucket: str, *, ttl: int = 3600) -> dict:
    """The STORAGES setting production uses, aimed at `endpoint_url`."""
    return {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "region_name": REGION,
                "endpoint_url": endpoint_url,
                "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY,
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": ttl,
                "file_overwrite": True,
                "signature_version": "s3v4",
                "addressing_style": "path",
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def s3_storage(settings, s3_endpoint):
    """Default storage = S3 on a fresh bucket of the loopback moto server, for this test only."""
    bucket = f"garmax-test-{uuid.uuid4().hex[:16]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
    )
    client.create_bucket(Bucket=bucket)
    settings.S3_BUCKET_NAME = bucket
    settings.AWS_S3_ENDPOINT_URL = s3_endpoint
    # Django's setting_changed handler resets default_storage when STORAGES changes.
    settings.STORAGES = s3_storage_settings(s3_endpoint, bucket, ttl=settings.SIGNED_URL_TTL_SECONDS)
    return S3Bucket(endpoint_url=s3_endpoint, bucket=bucket, client=client)
