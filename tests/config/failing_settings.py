"""The production settings with tests.config.error_urls mounted: for live services that must answer a 500."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "tests.config.error_urls"
