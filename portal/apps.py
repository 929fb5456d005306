from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The partner portal: server-rendered pages for an organization's members, over the apps' services."""

    name = "portal"
    verbose_name = "Partner portal"
