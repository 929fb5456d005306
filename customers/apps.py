from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "External customers and photos"

    def ready(self):
        # Read now, so a malformed CUSTOMER_IMPORT_* / CUSTOMER_EXPORT_* value stops start-up.
        from customers.bulk import settings  # noqa: F401
