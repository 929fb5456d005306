"""The staff groups: "billing" may add credits, cancel sessions (refunds) and re-run failed items
(charges), "support" reads everything and changes nothing but keys and webhooks.

The groups are created by a data migration; this keeps their permissions complete as later apps add models
(it runs after every migrate, once all permissions exist).
"""

STAFF_APPS = ("organizations", "apikeys", "customers", "tryons", "webhooks", "usage")


def sync_staff_group_permissions(sender=None, **kwargs):
    from django.contrib.auth.models import Group, Permission

    view_permissions = Permission.objects.filter(
        content_type__app_label__in=STAFF_APPS, codename__startswith="view_"
    )
    support, _ = Group.objects.get_or_create(name="support")
    billing, _ = Group.objects.get_or_create(name="billing")
    support.permissions.add(*view_permissions)
    billing.permissions.add(*view_permissions)
    billing.permissions.add(
        *Permission.objects.filter(content_type__app_label="organizations", codename="add_credits")
    )
    # Cancelling a session refunds credits: a billing decision, not support's (support only watches).
    billing.permissions.add(
        *Permission.objects.filter(content_type__app_label="tryons", codename="cancel_carttryonsession")
    )
    # Re-running a failed item charges the organization again: money, so billing's too.
    billing.permissions.add(
        *Permission.objects.filter(content_type__app_label="tryons", codename="rerun_tryon")
    )
    # Support revokes and rolls keys and re-enables webhooks (seed: "support revokes keys and watches the
    # pipeline"; a roll is how a leaked key is replaced without downtime).
    support.permissions.add(
        *Permission.objects.filter(
            content_type__app_label__in=("apikeys", "webhooks"),
            codename__in=("revoke_apikey", "roll_apikey", "manage_webhook"),
        )
    )
