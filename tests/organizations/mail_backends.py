"""Mail backends that fail as real ones do, for the low-balance email (settings.EMAIL_BACKEND).

`Refusing` fails as Django's SMTP backend does on a header holding a newline (BadHeaderError, quoting the
header); `Down` fails `Down.failures` times as an unreachable mail server does (OSError), then delivers to
the test outbox.
"""

from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class Refusing(LocmemBackend):
    def send_messages(self, messages):
        raise mail.BadHeaderError(f"Header values can't contain newlines (got {messages[0].subject!r})")


class Down(LocmemBackend):
    failures = 0

    def send_messages(self, messages):
        if Down.failures > 0:
            Down.failures -= 1
            raise ConnectionRefusedError(111, f"Connection refused while sending {messages[0].subject!r}")
        return super().send_messages(messages)
