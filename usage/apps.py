from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "usage"
    verbose_name = "Usage and request logs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from apikeys.partner import partner_request_recorder_register
        from config.celery import beat_entries_add
        from usage.buffer import usage_record

        beat_entries_add(
            {
                "flush-api-usage": {"task": "apikeys.flush_usage", "schedule": 5.0},
                "prune-api-usage": {"task": "apikeys.prune_usage", "schedule": 3600.0},
            }
        )
        partner_request_recorder_register("usage", usage_record)
