"""Log filters: every line carries the request id, and nothing secret reaches a log line."""

import logging
import re

from config.request_context import current_request_id

# API keys, webhook secrets, bearer tokens and password fields, wherever they appear in a message.
_SECRET_PATTERNS = [
    (re.compile(r"gx_(live|test)_[A-Za-z0-9_\-]{6,}"), r"gx_\1_[redacted]"),
    (re.compile(r"whsec_[A-Za-z0-9+/=_\-]+"), "whsec_[redacted]"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]+"), r"\1[redacted]"),
    (
        re.compile(r"(?i)(\"?(?:password|secret|token|refresh|access)\"?\s*[:=]\s*\"?)[^\s\",}]+"),
        r"\1[redacted]",
    ),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = current_request_id() or "-"
        return True


class RedactSecretsFilter(logging.Filter):
    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Exception text can carry request data; keep the type and location, redact the message.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
