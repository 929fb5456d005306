"""`Garmax(api_key=…)`: the client a partner builds once and shares (it holds no per-request state)."""

from __future__ import annotations

import os

from ._http import Transport
from .resources import Account, CartTryons, Customers, Photos, Tryons, Webhooks

DEFAULT_BASE_URL = "https://api.garmaxai.com/api"
KEY_MODES = {"gx_live_": "live", "gx_test_": "test"}


def key_mode(api_key: str) -> str:
    """`live` or `test`, read from the key's prefix; a ValueError for anything that is not one of our keys."""
    for prefix, mode in KEY_MODES.items():
        if isinstance(api_key, str) and api_key.startswith(prefix) and len(api_key) > len(prefix):
            return mode
    raise ValueError("api_key must be a GarmaxAI API key (gx_live_… or gx_test_…)")


class Garmax:
    """A client for one API key.

    `base_url` defaults to $GARMAX_BASE_URL, else production; `version` is a `Garmax-Version` date
    (YYYY-MM-DD) to pin, else the organization's pinned version answers. `max_retries` bounds the retries
    of one call (network errors, 409 in flight, 429, 5xx); `timeout` is per attempt, in seconds.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        version: str | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
    ):
        api_key = api_key or os.environ.get("GARMAX_API_KEY", "")
        self.mode = key_mode(api_key)
        self.livemode = self.mode == "live"
        if max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        self._transport = Transport(
            api_key=api_key,
            base_url=base_url or os.environ.get("GARMAX_BASE_URL") or DEFAULT_BASE_URL,
            version=version,
            timeout=timeout,
            max_retries=max_retries,
        )
        self.customers = Customers(self._transport)
        self.photos = Photos(self._transport)
        self.cart_tryons = CartTryons(self._transport)
        self.tryons = Tryons(self._transport)
        self.webhooks = Webhooks(self._transport)
        self.account = Account(self._transport)

    @property
    def base_url(self) -> str:
        return self._transport.base_url

    @property
    def version(self) -> str | None:
        return self._transport.version

    def __repr__(self) -> str:
        return f"Garmax(mode={self.mode!r}, base_url={self.base_url!r})"
