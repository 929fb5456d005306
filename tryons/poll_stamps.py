"""Version stamps of cart sessions and try-ons: what lets a status poll be answered without PostgreSQL.

Each polled session or try-on has a stamp in Redis, `gx:poll:stamp:<ref>` (`s:<sessionId>`, `t:<tryonId>`),
whose value is `<organizationId>|<token>` once a tenant-checked read has labelled the current state with
`token`, or `-|<token>` right after a change. A poll compares the token its client holds (the ETag) with the
stamp (tryons.polls): equal, and the client's copy is current.

Who bumps: PostgreSQL itself. Statement-level triggers on the session, look and try-on tables (migration
0014) raise a NOTICE naming the refs whose rows a statement inserted, deleted or changed (any column but
the bookkeeping ones: leases, heartbeats, sweep counts, attempt and job ids). Every Django connection to
PostgreSQL collects those notices (`poll_changes_watch`, connected in TryonsConfig.ready) and, once the
statement's transaction has committed (at once in autocommit, else `transaction.on_commit`), sets each
ref's stamp to `-|<new token>`. So no write path can forget a bump: services, raw SQL, the admin, a cascade
from a customer's deletion alike.

Races, and why none leaves a stamp stale for longer than the commit-to-bump gap:
- A reader labels a state with a token it observed *before* reading PostgreSQL, and installs it only if
  the stamp is still what it observed (a compare-and-set in one Lua call, tryons.polls). A change
  committed after the read is bumped after its commit: before the CAS, the CAS fails (the answer goes out
  with a throwaway token that never matches); after it, the stamp moves on. Either way the next poll
  sees a different token and is answered 200.
- A bump SETs a new token (never a DEL): a reader that found no stamp and read old rows cannot install
  its label afterwards, because the key then exists with another value.
- The gap: between a transaction's COMMIT and its bump (the same thread, right after) a poll may still be
  told 304 by the old stamp; the next poll sees the change. This is the only staleness a partner can see.
- A process killed in that gap, or Redis failing the bump (logged), leaves the old stamp: stamps expire
  after STAMP_TTL_SECONDS, so the staleness is bounded by that; Redis losing its data loses the stamps,
  which is safe (no stamp is never a 304).
- A statement in a savepoint that rolls back, or a transaction that rolls back, may still be bumped with a
  later commit of the same connection: an extra bump only costs one more 200, never a stale 304.
Without PostgreSQL + Redis (embedded mode) there are no stamps: polls compare digests of the rows
(api.conditional.row_conditional).
"""

import logging
import secrets

from django.db import transaction
from redis.exceptions import RedisError

from infrastructure.shared_cache import redis_client

logger = logging.getLogger(__name__)

NOTICE_PREFIX = "gx-poll "  # the triggers' notice: "gx-poll s:cts_… t:tryon_… …"
# How long a stamp lives without a change or a read that labels it: the bound on staleness after a lost bump.
STAMP_TTL_SECONDS = 600
_STAMP_KEY = "gx:poll:stamp:"


def stamp_key(ref: str) -> str:
    return _STAMP_KEY + ref


def session_ref(session_id: str) -> str:
    return f"s:{session_id}"


def tryon_ref(tryon_id: str) -> str:
    return f"t:{tryon_id}"


def poll_stamps_bump(refs) -> None:
    """Give each ref a new token (one pipelined round trip); call only after the change committed.
    Never raises: a failure is logged, and the stamps it could not move expire (module docstring)."""
    client = redis_client()
    if client is None or not refs:
        return
    value = "-|" + secrets.token_hex(8)
    try:
        with client.pipeline(transaction=False) as pipe:
            for ref in refs:
                pipe.set(stamp_key(ref), value, ex=STAMP_TTL_SECONDS)
            pipe.execute()
    except RedisError as exc:
        logger.warning(
            "poll stamps not bumped (%d refs), stale for up to %d s: %s", len(refs), STAMP_TTL_SECONDS, exc
        )


def poll_changes_watch(sender, connection, **kwargs) -> None:
    """connection_created receiver: collect the triggers' notices on a new PostgreSQL connection and bump
    their stamps once the statement that raised them has committed."""
    if connection.vendor != "postgresql":
        return
    pending = _pending(connection)
    connection.connection.add_notice_handler(lambda diag: _noticed(pending, diag.message_primary or ""))
    if not any(getattr(w, "_gx_poll", False) for w in connection.execute_wrappers):
        connection.execute_wrappers.append(_StatementWatch(connection))


def _pending(connection) -> set:
    pending = getattr(connection, "_gx_poll_pending", None)
    if pending is None:
        pending = connection._gx_poll_pending = set()
    return pending


def _noticed(pending: set, message: str) -> None:
    # Runs inside psycopg while it reads the statement's results: it only collects.
    if message.startswith(NOTICE_PREFIX):
        pending.update(message[len(NOTICE_PREFIX) :].split())


class _StatementWatch:
    """An execute wrapper: after each statement, hand what its notices named to the commit."""

    _gx_poll = True

    def __init__(self, connection):
        self.connection = connection

    def __call__(self, execute, sql, params, many, context):
        try:
            return execute(sql, params, many, context)
        finally:
            pending = getattr(self.connection, "_gx_poll_pending", None)
            if pending:
                self._after_statement(pending)

    def _after_statement(self, pending: set) -> None:
        if not self.connection.in_atomic_block:  # autocommit: the statement has committed
            refs = set(pending)
            pending.clear()
            poll_stamps_bump(refs)
            return

        # Every changing statement registers a flush; the first to run after the commit bumps what all
        # of them collected, the rest find nothing left (rolled-back savepoints included: harmless).
        def flush():
            refs = set(pending)
            pending.clear()
            poll_stamps_bump(refs)

        transaction.on_commit(flush, using=self.connection.alias)
