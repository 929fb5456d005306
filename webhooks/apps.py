from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self):
        from config.celery import beat_entries_add

        beat_entries_add(
            {
                "dispatch-due-webhook-deliveries": {
                    "task": "webhooks.dispatch_due_deliveries",
                    "schedule": 10.0,
                },
                "prune-webhook-payloads": {"task": "webhooks.prune_payloads", "schedule": 3600.0},
            }
        )
        # Every app emits its events through api.events (it cannot import webhooks: import direction);
        # the outbox records them in the emitter's transaction.
        from api.events import event_emitted
        from webhooks import tasks  # noqa: F401  registers the task the services queue by name
        from webhooks.services import webhook_event_receive

        event_emitted.connect(webhook_event_receive, dispatch_uid="webhooks.event_emitted")
