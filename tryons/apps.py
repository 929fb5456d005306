from django.apps import AppConfig


class TryonsConfig(AppConfig):
    name = "tryons"
    verbose_name = "Try-ons"

    def ready(self):
        from customers.erasure import customer_eraser_register
        from tryons.events import event_types_register
        from tryons.services import customer_results_erase

        customer_eraser_register("tryons", customer_results_erase)
        event_types_register()
        # Read now: a malformed engine setting stops start-up with a message naming the variable.
        from tryons.engines.settings import engine_settings

        engine_settings()
