"""PostgreSQL with a per-request connection health check that costs no round trip.

With CONN_HEALTH_CHECKS, Django runs `SELECT 1` before the first query of every request on a persistent
connection: on a partner read that is one database round trip in two, paid by the web process and the
server alike (bench/README.md). It exists to catch sessions the server has ended (a restart or failover,
`pg_terminate_backend`, idle-session timeouts) before a request fails on one. The server announces each of
those: it sends a FATAL error message and closes its end, so the socket of a session it ended has data to
read, while a healthy idle session never does (we use no LISTEN/NOTIFY). So the check is a zero-timeout
poll of the socket; only a socket with something to read pays for Django's full `SELECT 1` check.
A peer that vanished without a word (a cable cut, no FIN) is caught by neither check until TCP gives up,
and a session ended in the instant between the poll and the request's query fails that one request, as a
session ended during a query always does; Django then discards the connection.

It also offers `prepared_statement_cursor()` for infrastructure.prepared.PreparedQuery: PostgreSQL parses and
plans a hot read once per session instead of on every request (a third of the server's CPU for a
customer read). Django itself keeps client-side binding everywhere else, because the ORM does not
generate SQL that is always preparable (Django ticket #20516); the queries prepared here are checked
against the ORM's own results in tests/config/test_prepared.py.
"""

import select

from django.conf import settings
from django.db.backends.postgresql import base, operations


class _PreparingCursor(base.ServerBindingCursor):
    """Binds parameters on the server and prepares every statement it runs (named per session)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor, sql, params):
        if isinstance(cursor, _PreparingCursor):
            # Bound on the server, so there is no client-side text; show it as Django does for
            # server_side_binding (in query logs and captured queries).
            return self.compose_sql(sql, params)
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def get_connection_params(self):
        params = super().get_connection_params()
        if params.get("prepare_threshold") is None and settings.DB_PREPARED_STATEMENTS:
            # Django turns preparation off (None), which would also refuse the explicit prepare=True of
            # prepared_statement_cursor(). Django's own cursors bind parameters on the client, and psycopg
            # never prepares those, so a threshold changes nothing for them. 5 is psycopg's default.
            params["prepare_threshold"] = 5
        return params

    def prepared_statement_cursor(self):
        """A cursor whose statements are prepared in the session, wrapped like any Django cursor (errors
        translated, queries logged and captured in tests, health check and connection handling)."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            return self._prepare_cursor(_PreparingCursor(self.connection))

    def close_if_health_check_failed(self):
        if self.connection is None or self.pool or not self.health_check_enabled or self.health_check_done:
            return super().close_if_health_check_failed()
        if self._server_has_spoken() and not self.is_usable():
            self.close()
        self.health_check_done = True

    def _server_has_spoken(self) -> bool:
        """True if the server sent anything while the session was idle (or the socket is unusable)."""
        if self.connection.closed or self.connection.broken:
            return True
        try:
            poller = select.poll()
            poller.register(self.connection.fileno(), select.POLLIN)
            return bool(poller.poll(0))
        except (OSError, ValueError, base.Database.Error):
            return True
