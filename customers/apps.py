from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "External customers and photos"

    def ready(self):
        from config.celery import beat_entries_add

        beat_entries_add(
            {
                "retry-customer-erasures": {"task": "customers.retry_pending_erasures", "schedule": 60.0},
                "requeue-stale-bulk-jobs": {"task": "bulk.requeue_stale_jobs", "schedule": 60.0},
                "expire-customer-exports": {"task": "bulk.expire_exports", "schedule": 300.0},
            }
        )
        # Imports and exports queue their tasks by name (customers.bulk.queue): registered in every process.
        import customers.tasks  # noqa: F401

        # Read now, so a malformed CUSTOMER_IMPORT_* / CUSTOMER_EXPORT_* value stops start-up.
        from customers.bulk import settings  # noqa: F401
