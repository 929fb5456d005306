"""One source per business rule shared across apps: each is written once and used everywhere else."""

import re

import pytest

from tests.architecture.rooms import ROOT, room_sources

RULES = {
    # credits as a JSON number (4, not 4.0 or "4.00"): organizations.models.credits_number
    "credits as a JSON number": r"to_integral_value\(\)",
    # metadata size: api.metadata.metadata_too_large / METADATA_MAX_BYTES
    "metadata size limit": r"^METADATA_MAX_BYTES\s*=",
    "metadata serialized size": r"json\.dumps\([^)]*separators=\(\",\", \":\"\)\)\)\s*>",
    # is there a shared cache: infrastructure.shared_cache.shared_cache_backend
    "shared cache check": r"isinstance\([^)]*RedisCache\)|settings\.REDIS_URL\)",
    # credential prefixes: api.credentials (prose such as help_text may still write `gx_live_…`)
    "live API key prefix": r"[\"']gx_live_[\"']",
    "test API key prefix": r"[\"']gx_test_[\"']",
    "webhook secret prefix": r"[\"']whsec_[\"']",
    "credential prefix in a pattern": r"gx_\(|gx_\[|whsec_\[",
    # one cent of a credit: organizations.models.CENT
    "one cent": r"Decimal\([\"']0\.01[\"']\)",
}


def _sources():
    yield from room_sources()


@pytest.mark.parametrize("rule", RULES)
def test_a_shared_rule_is_written_once(rule):
    pattern = re.compile(RULES[rule], re.MULTILINE)
    places = [
        f"{path.relative_to(ROOT)}:{text[: match.start()].count(chr(10)) + 1}"
        for path in _sources()
        for text in [path.read_text()]
        for match in pattern.finditer(text)
    ]
    assert len(places) <= 1, places
