from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = "API keys"

    def ready(self):
        from config.celery import beat_entries_add

        beat_entries_add(
            {
                "record-expired-api-keys": {"task": "apikeys.record_expired_keys", "schedule": 60.0},
                # Emails 7 days and 1 day before a key expires; minutes late at most.
                "queue-api-key-expiry-reminders": {
                    "task": "apikeys.queue_expiry_reminders",
                    "schedule": 300.0,
                },
            }
        )
        from apikeys import (
            schema,  # noqa: F401  registers the X-API-Key security scheme
            tasks,  # noqa: F401  registers the reminder email task queued by name
        )
        from apikeys.services import organization_keys_refresh, organization_status_changed_receive
        from organizations.signals import organization_api_version_changed, organization_status_changed

        organization_status_changed.connect(
            organization_status_changed_receive, dispatch_uid="apikeys.organization_status"
        )
        organization_api_version_changed.connect(
            organization_keys_refresh, dispatch_uid="apikeys.organization_api_version"
        )
