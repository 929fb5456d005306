from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self):
        from django.utils.module_loading import autodiscover_modules

        # Each app declares its webhook events in its own events.py (api.events); all of them are in the
        # catalogue before anything reads it.
        autodiscover_modules("events")
