"""customers' webhook events, found here by the catalogue's discovery (api.apps): the bulk jobs declare theirs
beside the code that emits them, so the bulk package never reaches up to this module."""

from customers.bulk.events import CUSTOMERS_IMPORTED

__all__ = ["CUSTOMERS_IMPORTED"]
