"""Who else holds a customer's personal data: apps that build on customers register an eraser here.

customers cannot import those apps (they depend on it), so each registers, in its AppConfig.ready, a
function `eraser(*, customer_id) -> list[str]` that clears its rows of the customer's personal data inside
the caller's transaction and returns the storage keys to delete (tryons: results and photo references).
"""

from collections.abc import Callable

_erasers: dict[str, Callable[..., list[str]]] = {}


def customer_eraser_register(name: str, eraser: Callable[..., list[str]]) -> None:
    """Register (or replace, so a repeated ready() is harmless) the eraser called `name`."""
    _erasers[name] = eraser


def customer_data_erase(*, customer_id: str) -> list[str]:
    """Run every registered eraser for the customer; the storage keys they return, in order."""
    keys: list[str] = []
    for eraser in _erasers.values():
        keys += eraser(customer_id=customer_id)
    return keys
