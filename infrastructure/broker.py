"""The embedded mode's Celery broker: kombu's filesystem transport, made safe for concurrent processes.

Stock kombu creates a message file in the queue folder and only then writes into it, so a worker polling
the folder can pick up an empty or half-written file and die on `JSONDecodeError` (the worker's
"Unrecoverable error" that took `make run` down). Here every message is written in full to a hidden
file in the same folder and then renamed into place: a rename within one filesystem is atomic, so a
consumer sees either no message or the whole of it. The exchange tables get the same treatment when they
are first created. We keep the filesystem transport rather than a database one (kombu's `sqla`) because it
needs no extra dependency and no polling of the SQLite file the web process and the worker already share.
"""

import contextlib
import os
import tempfile
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


def _write_atomically(path: str, data: bytes, *, replace: bool) -> None:
    """Make `path` appear with `data` in one step; with replace=False, leave an existing file alone."""
    folder = os.path.dirname(path)
    # A dot-name never matches "<queue>.msg", so consumers skip the file while it is being written.
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        if replace:
            os.replace(temporary, path)
        else:
            with contextlib.suppress(FileExistsError):  # another process created it first: keep theirs
                os.link(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        # Same file name scheme as kombu's (consumers sort by it, so order is kept).
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        path = os.path.join(self.data_folder_out, name)
        try:
            _write_atomically(path, str_to_bytes(dumps(payload)), replace=True)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {path!r} to directory") from exc

    def queue_bind(self, queue, exchange=None, routing_key="", arguments=None, **kwargs):
        exchange = exchange or "amq.direct"
        if self.state.has_binding(queue, exchange, routing_key):
            # kombu remembers bindings per process and would skip the table on disk, which may be new (a
            # var/ folder cleaned while running, another data folder): write it again; it is idempotent.
            meta = self.typeof(exchange).prepare_bind(queue, exchange, routing_key, arguments)
            self._queue_bind(exchange, *meta)
            return
        super().queue_bind(queue, exchange, routing_key, arguments, **kwargs)

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        # kombu creates a new exchange table empty and writes it afterwards, and its readers would parse
        # the empty file; start every table as an empty list that appears at once, then let kombu update
        # it in place under its file lock.
        file = self._exchange_file(exchange)
        self.control_folder.mkdir(exist_ok=True)
        if not file.exists():
            try:
                _write_atomically(str(file), b"[]", replace=False)
            except OSError as exc:
                raise ChannelError(f"Cannot open {file}") from exc
        super()._queue_bind(exchange, routing_key, pattern, queue)


class Transport(filesystem.Transport):
    Channel = Channel
