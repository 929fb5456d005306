from django.apps import AppConfig


class TryonsConfig(AppConfig):
    name = "tryons"
    verbose_name = "Try-ons"

    def ready(self):
        from customers.erasure import customer_eraser_register
        from tryons.services import customer_results_erase

        customer_eraser_register("tryons", customer_results_erase)
