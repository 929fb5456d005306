from django.apps import AppConfig


class TryonsConfig(AppConfig):
    name = "tryons"
    verbose_name = "Try-ons"

    def ready(self):
        from django.conf import settings

        from config.celery import beat_entries_add

        # Dead workers' try-ons are resumed within a heartbeat timeout plus this interval (tryons.heartbeats).
        beat_entries_add(
            {
                "sweep-stuck-tryons": {
                    "task": "tryons.sweep_stuck_sessions",
                    "schedule": float(settings.TRYON_SWEEP_INTERVAL_SECONDS),
                }
            }
        )
        from organizations.models import render_qualities_register
        from tryons.qualities import QUALITY_NAMES

        render_qualities_register(QUALITY_NAMES)
        from customers.erasure import customer_eraser_register
        from tryons.services.erasure import customer_results_erase

        customer_eraser_register("tryons", customer_results_erase)
        from apikeys.selectors import account_section_register
        from tryons.capabilities import EXAMPLE, RenderCapabilitiesSerializer, render_capabilities

        account_section_register(
            "renderCapabilities", render_capabilities, RenderCapabilitiesSerializer(), example=EXAMPLE
        )
        # Garment files go through the customers' bulk jobs (customers.bulk.resources).
        from tryons.catalogue.bulk import catalogue_bulk_register

        catalogue_bulk_register()
        # Every PostgreSQL connection bumps the poll stamps its commits changed (tryons.poll_stamps).
        from django.db.backends.signals import connection_created

        from tryons.poll_stamps import poll_changes_watch

        connection_created.connect(poll_changes_watch, dispatch_uid="tryons.poll_changes_watch")
        # The pipeline queues its tasks by name (tryons.services.queue): register them in every process.
        import tryons.tasks  # noqa: F401

        # Read now: a malformed engine setting, or a renderer choice the registry cannot serve (unknown, or
        # without the settings it needs), stops start-up with a message naming the variable.
        from tryons.engines.settings import engine_settings

        engine_settings()
