"""Tenant-scoped reads for the try-on API."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Prefetch, QuerySet, Sum
from django.utils import timezone

from api.errors import ResourceNotFound
from organizations.models import CreditLedgerEntry
from tryons.models import CartTryOnSession, TryOn


def _with_items(queryset: QuerySet, *, customer_join: bool = True) -> QuerySet:
    items = Prefetch("items", queryset=TryOn.objects.order_by("position", "sample"))
    if customer_join:
        return queryset.select_related("customer").prefetch_related(items)
    return queryset.prefetch_related("customer", items)


def cart_session_list(
    *, organization_id: str, cart_id: str | None = None, status: str | None = None
) -> QuerySet:
    sessions = CartTryOnSession.objects.filter(organization_id=organization_id)
    if cart_id:
        sessions = sessions.filter(cart_id=cart_id)
    if status:
        sessions = sessions.filter(status=status)
    # Lists fetch the page's customers by id afterwards (one indexed query): joining them into the page
    # query lets the planner hash-join the whole customers table on deep pages.
    return _with_items(sessions.order_by("-created_at", "-id"), customer_join=False)


def cart_session_get(*, organization_id: str, session_id: str) -> CartTryOnSession:
    session = _with_items(
        CartTryOnSession.objects.filter(organization_id=organization_id, pk=session_id)
    ).first()
    if session is None:
        raise ResourceNotFound("Cart try-on session not found.", details={"sessionId": session_id})
    return session


def tryon_list(*, organization_id: str, status: str | None = None) -> QuerySet:
    """Single try-ons only; a cart's items are listed with their session, and its looks' steps not at all."""
    tryons = TryOn.objects.prefetch_related("customer").filter(
        organization_id=organization_id, session__isnull=True, look__isnull=True
    )
    if status:
        tryons = tryons.filter(status=status)
    return tryons.order_by("-created_at", "-id")


def tryon_get(*, organization_id: str, tryon_id: str) -> TryOn:
    tryon = (
        TryOn.objects.select_related("customer")
        .filter(organization_id=organization_id, pk=tryon_id, look__isnull=True)  # a look shows its own image
        .first()
    )
    if tryon is None:
        raise ResourceNotFound("Try-on not found.", details={"tryonId": tryon_id})
    return tryon


def cart_session_for_event(*, session_id: str) -> CartTryOnSession:
    """The session as a webhook event reports it: with its customer and its items in cart order."""
    return _with_items(CartTryOnSession.objects.filter(pk=session_id)).get()


def tryon_for_event(*, tryon_id: str) -> TryOn:
    return TryOn.objects.select_related("customer").get(pk=tryon_id)


def reuse_savings(*, days: int) -> dict:
    """What render reuse (tryons.reuse) saved in the last `days` days, for the billing dashboard: renders
    handed out again instead of rendered (engine calls saved) and the credits refunded for them."""
    since = timezone.now() - timedelta(days=days)
    renders = TryOn.objects.filter(completed_at__gte=since).exclude(reused_from="").count()
    refunded = CreditLedgerEntry.objects.filter(
        created_at__gte=since, reference__endswith=":reused"
    ).aggregate(total=Sum("amount"))["total"]
    return {"renders": renders, "credits": refunded or Decimal("0")}
