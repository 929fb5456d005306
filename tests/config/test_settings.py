"""Settings fail loudly: a wrong value stops start-up with a message naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_settings(tmp_path, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "REDIS_URL", "DJANGO_", "S3_"))
    }
    clean.update({"GARMAX_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('ok')"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_embedded_default_starts_with_nothing_set(tmp_path):
    result = load_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    "env,message",
    [
        ({"DATABASE_URL": "postgres://u@h/db", "DJANGO_DEBUG": "false"}, "DJANGO_SECRET_KEY is required"),
        ({"DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY must be at least 32"),
        ({"DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG must be true or false"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL must start with"),
        ({"SIGNED_URL_TTL_SECONDS": "soon"}, "SIGNED_URL_TTL_SECONDS"),
        ({"PHOTO_MAX_BYTES": "0"}, "PHOTO_MAX_BYTES must be an integer >= 1"),
        ({"TRYON_RENDERER": "magic"}, "TRYON_RENDERER must be one of"),
        ({"TRYON_RENDERER": "http"}, "TRYON_HTTP_RENDERER_URL"),
        ({"TRYON_HEARTBEAT_SECONDS": "30"}, "TRYON_HEARTBEAT_TIMEOUT_SECONDS must be at least 3 ×"),
        ({"TRYON_SWEEP_INTERVAL_SECONDS": "0"}, "TRYON_SWEEP_INTERVAL_SECONDS must be an integer >= 1"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of"),
        ({"TRUSTED_PROXIES": "10.0.0.0/8,load-balancer"}, "TRUSTED_PROXIES must list IP addresses or CIDRs"),
        ({"DJANGO_SECURE_PROXY_SSL_HEADER": "X Forwarded: Proto"}, "DJANGO_SECURE_PROXY_SSL_HEADER must be"),
        ({"DJANGO_SECURE_HSTS_SECONDS": "-1"}, "DJANGO_SECURE_HSTS_SECONDS must be an integer >= 0"),
        ({"DJANGO_SECURE_SSL_REDIRECT": "sometimes"}, "DJANGO_SECURE_SSL_REDIRECT must be true or false"),
        ({"DATABASE_URL": "not a url", "DJANGO_SECRET_KEY": "x" * 40}, "DATABASE_URL"),
        ({"PARTNER_SIGNUP": "sometimes"}, "PARTNER_SIGNUP must be closed, invite or open"),
        ({"SIGNUP_LIMIT_PER_DOMAIN_PER_HOUR": "0"}, "SIGNUP_LIMIT_PER_DOMAIN_PER_HOUR must be an integer"),
    ],
)
def test_a_malformed_value_stops_start_up_with_a_clear_message(tmp_path, env, message):
    result = load_settings(tmp_path, **env)
    assert result.returncode != 0
    assert message in result.stderr
