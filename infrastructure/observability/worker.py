"""Celery's side of observability, connected when config/celery.py imports this module (every process).

- Every task message carries the time it was published, so a scrape can tell how old a queue's oldest
  waiting task is (metrics.QueueCollector).
- A worker's main process serves its metrics on METRICS_PORT: the sum of its pool children's samples, which
  they write to PROMETHEUS_MULTIPROC_DIR (the children have no port of their own).
- With LOG_FORMAT=json, the handlers Celery installs on its loggers write our JSON lines, with the same
  filters as the web's (request ids, redaction), instead of Celery's text format.
"""

import logging
import time

from celery import signals
from django.conf import settings

from infrastructure.observability import metrics

logger = logging.getLogger(__name__)


@signals.before_task_publish.connect
def _stamp_published_at(headers=None, **kwargs):
    if headers is not None:
        headers[metrics.PUBLISHED_AT_HEADER] = round(time.time(), 3)


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _json_worker_logs(logger=None, **kwargs):
    if logger is None or settings.LOG_FORMAT != "json":
        return
    from infrastructure.logging import (
        JsonLinesFormatter,
        PrincipalFilter,
        RedactSecretsFilter,
        RequestIdFilter,
    )

    for handler in logger.handlers:
        handler.setFormatter(JsonLinesFormatter())
        for log_filter in (RequestIdFilter(), PrincipalFilter(), RedactSecretsFilter()):
            handler.addFilter(log_filter)


@signals.worker_init.connect
def _serve_metrics(**kwargs):
    if not settings.METRICS_PORT:
        return
    from prometheus_client import start_http_server

    try:
        start_http_server(
            settings.METRICS_PORT,
            addr=settings.METRICS_ADDR,
            registry=metrics.exposition_registry(with_queues=False),
        )
    except OSError as exc:
        # Renders and deliveries matter more than their figures: run on, and say so loudly.
        logger.error("worker metrics port %s unavailable: %s", settings.METRICS_PORT, exc)
        return
    logger.info("worker metrics on http://%s:%s/metrics", settings.METRICS_ADDR, settings.METRICS_PORT)
