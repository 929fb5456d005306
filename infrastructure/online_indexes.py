"""AddIndex for large tables in production: built CONCURRENTLY on PostgreSQL, plainly elsewhere.

README's rule for migrations without downtime: an index on a large table is built without blocking writes.
Django's AddIndexConcurrently is PostgreSQL-only, and the embedded mode runs the same migrations on SQLite,
where a plain CREATE INDEX is what there is (and one process writes anyway). A migration using this must
say `atomic = False`: PostgreSQL refuses CREATE INDEX CONCURRENTLY inside a transaction.
"""

from django.db.migrations.operations import AddIndex


class AddIndexOnline(AddIndex):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.add_index(model, self.index, concurrently=True)
        else:
            schema_editor.add_index(model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.remove_index(model, self.index, concurrently=True)
        else:
            schema_editor.remove_index(model, self.index)
