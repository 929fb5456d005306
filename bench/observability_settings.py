"""Settings for the observability benchmark: the API-key benchmark's, with the request metrics and log
middleware taken out when BENCH_OBSERVABILITY=off (the baseline)."""

import os

from bench.apikeys_settings import *  # noqa: F403

if os.environ.get("BENCH_OBSERVABILITY") == "off":
    MIDDLEWARE = [m for m in MIDDLEWARE if ".observability." not in m]  # noqa: F405
