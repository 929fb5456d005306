from django.apps import AppConfig


class OrganizationsConfig(AppConfig):
    name = "organizations"
    verbose_name = "Organizations and credits"

    def ready(self):
        from django.contrib import admin
        from django.db.models.signals import post_migrate

        from organizations import schema  # noqa: F401  registers the settings object's schema
        from organizations.staff_groups import sync_staff_group_permissions

        post_migrate.connect(sync_staff_group_permissions, dispatch_uid="organizations.staff_groups")
        # The low-balance alert queues its email task by name: register it in every process.
        import organizations.signup_admin  # noqa: F401  pending signups and "Invite a partner" in the admin
        import organizations.tasks  # noqa: F401

        # The staff console carries the product's name; its "View site" is the partners' portal, not "/".
        admin.site.site_header = "GarmaxAI staff console"
        admin.site.site_title = "GarmaxAI"
        admin.site.index_title = "GarmaxAI administration"
        admin.site.site_url = "/portal/"
