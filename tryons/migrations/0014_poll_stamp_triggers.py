"""Statement-level triggers that name the cart sessions and try-ons a statement changed (tryons.poll_stamps).

Each raises one NOTICE `gx-poll <ref> <ref> …` (`s:<sessionId>`, `t:<tryonId>`) per statement that inserted,
deleted, or changed a column other than the bookkeeping ones listed in the trigger's arguments; the
connection that ran it bumps those stamps in Redis once it commits. PostgreSQL only (embedded SQLite polls
compare row digests instead).
"""

from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION gx_poll_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  kind text := TG_ARGV[0];
  noise text[] := TG_ARGV[1:];
  touched text;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    SELECT string_agg(DISTINCT ref, ' ') INTO touched
      FROM (SELECT to_jsonb(n) AS j FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE (to_jsonb(n) - noise) IS DISTINCT FROM (to_jsonb(o) - noise)) changed,
           LATERAL gx_poll_refs(kind, changed.j) ref;
  ELSIF TG_OP = 'INSERT' THEN
    SELECT string_agg(DISTINCT ref, ' ') INTO touched
      FROM new_rows n, LATERAL gx_poll_refs(kind, to_jsonb(n)) ref;
  ELSE
    SELECT string_agg(DISTINCT ref, ' ') INTO touched
      FROM old_rows o, LATERAL gx_poll_refs(kind, to_jsonb(o)) ref;
  END IF;
  IF touched IS NOT NULL THEN
    RAISE NOTICE USING MESSAGE = 'gx-poll ' || touched;
  END IF;
  RETURN NULL;
END
$fn$;
"""

REFS = r"""
CREATE OR REPLACE FUNCTION gx_poll_refs(kind text, j jsonb) RETURNS SETOF text LANGUAGE sql IMMUTABLE AS $fn$
  SELECT 's:' || (j->>'id') WHERE kind = 'session'
  UNION ALL SELECT 's:' || (j->>'session_id') WHERE kind IN ('look', 'tryon') AND j->>'session_id' IS NOT NULL
  UNION ALL SELECT 't:' || (j->>'id') WHERE kind = 'tryon'
$fn$;
"""

# (table, kind, columns whose changes no answer shows)
TABLES = (
    ("tryons_carttryonsession", "session", ("lease", "heartbeat_at", "sweep_count")),
    ("tryons_look", "look", ()),
    (
        "tryons_tryon",
        "tryon",
        ("lease", "heartbeat_at", "sweep_count", "attempts", "render_job_id", "awaiting_callback"),
    ),
)


def _triggers(table: str, kind: str, noise: tuple) -> list[str]:
    args = ", ".join(f"'{value}'" for value in (kind, *noise))
    statements = []
    for event, referencing in (
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("INSERT", "NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        name = f"gx_poll_{kind}_{event.lower()}"
        statements.append(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION gx_poll_changed({args})"
        )
    return statements


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(REFS)
    schema_editor.execute(FUNCTION)
    for table, kind, noise in TABLES:
        for statement in _triggers(table, kind, noise):
            schema_editor.execute(statement)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, kind, _ in TABLES:
        for event in ("update", "insert", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS gx_poll_{kind}_{event} ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS gx_poll_changed()")
    schema_editor.execute("DROP FUNCTION IF EXISTS gx_poll_refs(text, jsonb)")


class Migration(migrations.Migration):
    dependencies = [("tryons", "0013_garment_validators")]

    operations = [migrations.RunPython(forwards, backwards)]
