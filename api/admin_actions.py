"""Pieces the staff console's model admins share: a confirmation step for actions and links to rows.

Actions that change what partners see (revoking keys, cancelling sessions) must never act on one click:
like Django's "delete selected", they show what will change and act only when the form is posted again.
"""

from collections.abc import Callable

from django.contrib.admin import helpers
from django.contrib.admin.utils import quote
from django.db.models import Model, QuerySet
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html


def action_confirm(
    modeladmin,
    request,
    queryset: QuerySet,
    *,
    action: str,
    title: str,
    consequence: str,
    button: str,
    act: Callable[..., None],
    reason_label: str = "",
) -> TemplateResponse | None:
    """Show a confirmation page for `queryset`; call `act(queryset)` once staff have confirmed it.

    `action` is the action's name (the page posts it back); `queryset` is what will be acted on, already
    narrowed to the rows the action applies to. With `reason_label` the page asks for a required reason
    (for the ledger and the history) and calls `act(queryset, reason)`.
    """
    reason = request.POST.get("reason", "").strip()
    reason_missing = bool(reason_label) and request.POST.get("post") == "yes" and not reason
    if request.POST.get("post") == "yes" and not reason_missing:
        if reason_label:
            act(queryset, reason)
        else:
            act(queryset)
        return None  # back to the change list, with act's messages
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "consequence": consequence,
        "button": button,
        "objects": list(queryset),
        "action": action,
        "reason_label": reason_label,
        "reason": reason,
        "reason_missing": reason_missing,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "opts": opts,
        "media": modeladmin.media,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/action_confirmation.html", context)


def admin_link(obj: Model | None, text: str | None = None):
    """A link to `obj`'s change page in the console (for ids and related rows in list columns)."""
    if obj is None:
        return "-"
    # quote(): the admin escapes "_" in ids in its URLs, so "org_4F…" is not read back as "orgO…".
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[quote(obj.pk)])
    return format_html('<a href="{}">{}</a>', url, text if text is not None else obj.pk)
