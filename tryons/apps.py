from django.apps import AppConfig


class TryonsConfig(AppConfig):
    name = "tryons"
    verbose_name = "Try-ons"
