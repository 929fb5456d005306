from drf_spectacular.extensions import OpenApiSerializerExtension


class OrganizationSettingsScheme(OpenApiSerializerExtension):
    """`settings` refuses keys it does not know (organization_settings_clean), so the schema says so."""

    target_class = "organizations.serializers.OrganizationSettingsSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}
