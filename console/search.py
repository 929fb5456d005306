"""One search box for every id a partner quotes: the id's prefix says which table to look in."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.admin.utils import quote
from django.db.models import Model
from django.urls import reverse

from api.credentials import API_KEY_PREFIXES
from apikeys.admission import LOOKUP_LENGTH
from apikeys.models import ApiKey
from customers.models import Customer, Photo
from organizations.models import Organization
from tryons.models import CartTryOnSession, TryOn
from webhooks.models import Webhook, WebhookDelivery, WebhookEvent

MODELS: dict[str, type[Model]] = {
    "org": Organization,
    "key": ApiKey,
    "cust": Customer,
    "photo": Photo,
    "cts": CartTryOnSession,
    "tryon": TryOn,
    "webhook": Webhook,
    "dlv": WebhookDelivery,
}
PREFIXES = [*MODELS, "evt", *(prefix.rstrip("_") for prefix in API_KEY_PREFIXES.values()), "req"]


@dataclass
class SearchResult:
    url: str = ""
    message: str = ""


def _can_view(user, model: type[Model]) -> bool:
    return user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")


def _change_url(obj: Model) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[quote(obj.pk)])


def find(query: str, *, user) -> SearchResult:
    """Where `query` lives in the console: a URL to open, or a message saying why there is none."""
    mode_prefix = next((prefix for prefix in API_KEY_PREFIXES.values() if query.startswith(prefix)), None)
    if mode_prefix is not None:
        # A partner pasting a whole key, live or test: only its public prefix is looked up; the secret part
        # is ignored.
        key_prefix = query[: len(mode_prefix) + LOOKUP_LENGTH]
        key = ApiKey.objects.filter(key_prefix=key_prefix).first()
        if key is not None and _can_view(user, ApiKey):
            return SearchResult(url=_change_url(key))
        return SearchResult(message=f"No API key has the prefix {key_prefix}.")
    prefix = query.split("_", 1)[0]
    if prefix == "evt":
        if WebhookEvent.objects.filter(pk=query).exists() and _can_view(user, WebhookDelivery):
            changelist = reverse("admin:webhooks_webhookdelivery_changelist")
            return SearchResult(url=f"{changelist}?{urlencode({'q': query})}")
        return SearchResult(message=f"No event {query} (events are kept for the webhook retention period).")
    if prefix == "req":
        return SearchResult(
            # The request log is indexed by organization then request id (a lookup by id alone would read
            # every daily partition), so the organization narrows it first.
            message=f"{query} is a request id. Open Usage › Request log and search for the organization id "
            f"and {query} together (one search, separated by a space), or read it through "
            "GET /api/organizations/{id}/logs/requests/{requestId}."
        )
    model = MODELS.get(prefix)
    if model is None:
        known = ", ".join(f"{p}_" for p in PREFIXES)
        return SearchResult(message=f"Not an id this console knows. Ids start with one of: {known}.")
    obj = model.objects.filter(pk=query).first()
    if obj is None or not _can_view(user, model):
        return SearchResult(message=f"No {model._meta.verbose_name} has the id {query}.")
    return SearchResult(url=_change_url(obj))
