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
        # Other apps announce their events by signal, so they never import webhooks (import direction).
        from customers.signals import customers_imported
        from organizations.signals import credits_added, credits_low
        from webhooks.services import credits_added_receive, credits_low_receive, customers_imported_receive

        customers_imported.connect(customers_imported_receive, dispatch_uid="webhooks.customers_imported")
        credits_low.connect(credits_low_receive, dispatch_uid="webhooks.credits_low")
        credits_added.connect(credits_added_receive, dispatch_uid="webhooks.credits_added")
