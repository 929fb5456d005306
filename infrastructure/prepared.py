"""Querysets compiled to SQL once per process, then run with each request's values.

Why: on the partner hot path, building and compiling a queryset costs far more CPU than PostgreSQL takes
to answer it. `customer_detail` (a one-row index lookup with a subquery for the latest photo) spent ~1.3 ms
of Python per request on these machines, more than half of the whole request (bench/README.md). The SQL
Django generates depends on the queryset's shape, not on the values it compares, so the shape is compiled
once with stand-in values; later calls execute that SQL with the real values and build the model instance
(annotations included) from the row as the queryset would, with the same database converters.

Only string values compared as they are (exact lookups) can be stand-ins: compilation refuses a shape in
which a stand-in does not come back as a whole parameter (e.g. `__icontains` wraps it in `%…%`), and a
shape that selects related models or values instead of one model's rows.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable

# Control characters that no real value reaching these queries contains (ids and externalIds refuse
# them), so a parameter equal to a marker can only be the stand-in itself.
_MARKER = "\x1fprepared:{}\x1f"


@dataclass(frozen=True)
class _Slot:
    """Where a value goes in the compiled parameters."""

    name: str


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple  # constants of the shape, and a _Slot where each value goes
    field_names: list[str]  # attnames of the model's fields, in the order Model.from_db takes them
    field_positions: list[int]  # their columns in the row
    annotations: dict[str, int]  # annotation name -> column
    converters: dict  # column -> (converters, expression), as SQLCompiler.get_converters returns them


class PreparedQuery:
    """`build(**values)` returns a queryset of `model`; `first(**values)` runs its SQL, compiled once
    per database and set of value names, and returns the first row's instance or None.

    Slice the queryset to the rows wanted (`[:1]`): slicing is compiled into the SQL as LIMIT. The
    database is the model's database for reads, as for the queryset itself.
    """

    def __init__(self, model: type[Model], build: Callable[..., QuerySet]):
        self.model = model
        self._build = build
        self._compiled: dict[tuple[str, frozenset[str]], _Compiled] = {}

    def first(self, **values: str) -> Model | None:
        using = router.db_for_read(self.model)
        key = (using, frozenset(values))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(using, key[1])
        params = [values[entry.name] if isinstance(entry, _Slot) else entry for entry in compiled.params]
        connection = connections[using]
        with self._cursor(connection) as cursor:
            cursor.execute(compiled.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        row = list(row)
        for position, (converters, expression) in compiled.converters.items():
            value = row[position]
            for convert in converters:
                value = convert(value, expression, connection)
            row[position] = value
        instance = self.model.from_db(
            using, compiled.field_names, [row[position] for position in compiled.field_positions]
        )
        for name, position in compiled.annotations.items():
            setattr(instance, name, row[position])
        return instance

    @staticmethod
    def _cursor(connection):
        # PostgreSQL (infrastructure.postgresql) also plans the statement once per session; SQLite has no
        # need.
        if settings.DB_PREPARED_STATEMENTS and hasattr(connection, "prepared_statement_cursor"):
            return connection.prepared_statement_cursor()
        return connection.cursor()

    def _compile(self, using: str, names: frozenset[str]) -> _Compiled:
        queryset = self._build(**{name: _MARKER.format(name) for name in names})
        if queryset.model is not self.model or queryset._iterable_class is not ModelIterable:
            raise ImproperlyConfigured(f"PreparedQuery needs a queryset of {self.model.__name__} instances.")
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()  # also sets compiler.select, klass_info, annotation_col_map
        if compiler.klass_info.get("related_klass_infos"):
            raise ImproperlyConfigured("PreparedQuery does not support select_related().")
        slots = {_MARKER.format(name): _Slot(name) for name in names}
        template = tuple(slots.get(param, param) if isinstance(param, str) else param for param in params)
        placed = {entry.name for entry in template if isinstance(entry, _Slot)}
        if placed != names:
            raise ImproperlyConfigured(
                f"PreparedQuery: {', '.join(sorted(names - placed))} did not reach the SQL as a whole "
                "parameter; only exact comparisons of strings can be prepared."
            )
        positions = compiler.klass_info["select_fields"]
        return _Compiled(
            sql=sql,
            params=template,
            field_names=[compiler.select[position][0].target.attname for position in positions],
            field_positions=positions,
            annotations=dict(compiler.annotation_col_map),
            converters=compiler.get_converters([column for column, _, _ in compiler.select]),
        )
