"""Inserting rows of one model that differ in a few columns: one statement, each value prepared once.

Why: a cart's 20 items share 26 of their 36 columns (organization, photo, quality, session, status,
timestamps, …). `bulk_create` prepares and sends every value of every row, 720 parameters each through
its field's `get_db_prep_save` and the driver's adaptation: 2–3 ms of a cart create's ~10 ms of CPU
(bench/tryons_cart_profile.py). Here a column equal on every row is prepared once and sent as one value,
each varying column as one array, and PostgreSQL spreads the arrays into rows with `unnest`.

Elsewhere than PostgreSQL (the embedded SQLite default) it is `bulk_create`.
"""

from collections.abc import Collection, Sequence

from django.db import connections, router
from django.db.models import Model
from django.db.models.expressions import DatabaseDefault


def rows_insert(rows: Sequence[Model], *, varying: Collection[str]) -> None:
    """Insert `rows` (new instances of one model, primary keys set) in one statement.

    `varying` names the fields whose values differ between rows; every other field must hold the same
    value on every row (ValueError otherwise, before anything is written), except automatic timestamps,
    which take the first row's value on all of them. Like `bulk_create`: no signals, no `save()`.
    """
    if not rows:
        return
    model = type(rows[0])
    alias = router.db_for_write(model)
    connection = connections[alias]
    _check_shared(rows, varying)
    if connection.vendor != "postgresql":
        model._default_manager.using(alias).bulk_create(rows)
        return

    first = rows[0]
    columns, selected, shared_params, arrays, array_types = [], [], [], [], []
    for field in model._meta.concrete_fields:
        if getattr(field, "generated", False):
            continue
        db_type = field.db_type(connection)
        if field.name in varying:
            values = [field.get_db_prep_save(field.pre_save(row, True), connection) for row in rows]
            selected.append(f"u.c{len(arrays)}")
            arrays.append(values)
            array_types.append(db_type)
        else:
            value = field.pre_save(first, True)
            if _automatic(field):
                for row in rows[1:]:
                    setattr(row, field.attname, value)
            if isinstance(value, DatabaseDefault):
                continue  # the column's database default fills it
            selected.append(f"%s::{db_type}")
            shared_params.append(field.get_db_prep_save(value, connection))
        columns.append(connection.ops.quote_name(field.column))
    if not arrays:
        raise ValueError("rows_insert needs at least one varying field")

    unnest = ", ".join(f"%s::{db_type}[]" for db_type in array_types)
    names = ", ".join(f"c{index}" for index in range(len(arrays)))
    # Only the model's own table, column names and column types are interpolated; values are parameters.
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(selected)} FROM unnest({unnest}) AS u({names})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*shared_params, *arrays])
    for row in rows:
        row._state.adding = False
        row._state.db = alias


def _check_shared(rows: Sequence[Model], varying: Collection[str]) -> None:
    first = rows[0]
    for field in first._meta.concrete_fields:
        if field.name in varying or _automatic(field):
            continue
        value = getattr(first, field.attname)
        if any(getattr(row, field.attname) != value for row in rows[1:]):
            raise ValueError(
                f"{type(first).__name__}.{field.name} differs between rows; name it in `varying`"
            )


def _automatic(field) -> bool:
    return getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
