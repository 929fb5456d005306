"""The portal's password-reset email, sent by the worker: the request only queues the user's id, so a slow
mail server never holds a web worker, and the reset link (Django's one-time token) is made where it is
sent, never passed through the broker."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

RESET_PAGE = "/portal/password-reset/{uid}/{token}/"


class PasswordResetEmailFailed(Exception):
    """The mail backend did not take the email; the message names the error's type only."""


def password_reset_email_send(*, user_id: int) -> bool:
    """Email an active user with a password a link to choose a new one; False when there is no such user
    (deactivated, or without a password, since the request was queued)."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_usable_password() or not user.email:
        return False
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = settings.PUBLIC_BASE_URL + RESET_PAGE.format(
        uid=uid, token=default_token_generator.make_token(user)
    )
    try:
        send_mail(
            subject="Reset your GarmaxAI portal password",
            message=(
                f"Someone (we hope you) asked to reset the password of the GarmaxAI portal account "
                f"{user.get_username()}.\n\n"
                f"Choose a new password here (the link works once, for a limited time):\n{link}\n\n"
                "If it was not you, ignore this email: your password stays as it is.\n"
            ),
            from_email=None,
            recipient_list=[user.email],
        )
    except Exception as exc:
        raise PasswordResetEmailFailed(type(exc).__name__) from None
    return True
