"""UPGRADING.md names, for every private internal the hot path uses, the tests that guard it; they exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_guarding_test_named_in_upgrading_exists():
    notes = (ROOT / "UPGRADING.md").read_text()
    named = set(re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", notes))
    assert len(named) >= 10
    missing = [
        f"{path}::{name}"
        for path, name in sorted(named)
        if not re.search(rf"^def {name}\(", (ROOT / path).read_text(), re.MULTILINE)
    ]
    assert missing == []


def test_the_admission_module_the_hot_path_comments_name_exists_and_services_reexports_it():
    from apikeys import admission, services

    assert services.apikey_admit is admission.apikey_admit
    assert services.apikey_authenticate is admission.apikey_authenticate
    assert services.ApiKeyPrincipal is admission.ApiKeyPrincipal
    assert "apikeys/admission.py" in (ROOT / "apikeys" / "ratelimit.py").read_text()
