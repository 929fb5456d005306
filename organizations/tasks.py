from celery import shared_task

from organizations import services
from organizations.services import password_reset, signup

LOW_BALANCE_EMAIL_RETRIES = 8


def _retry_countdown(retries: int) -> int:
    return min(30 * 2**retries, 600)  # 30 s, 60 s, … then every 10 minutes: about 45 minutes in all


# The alert was disarmed by the charge that crossed the threshold; until this email reaches the mail backend
# the warning exists only as the webhook event. A mail-backend error is retried; when it cannot succeed
# (a refused header or address) or the retries run out, the alert is re-armed, so it is not lost for good.
@shared_task(name="organizations.send_low_balance_email", bind=True, max_retries=LOW_BALANCE_EMAIL_RETRIES)
def send_low_balance_email(self, entry_id: int, threshold: str | None = None) -> bool:
    try:
        return services.low_balance_email_send(entry_id=entry_id, threshold=threshold)
    except services.LowBalanceEmailFailed as exc:
        if exc.retryable and self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=_retry_countdown(self.request.retries)) from None
        services.low_balance_alert_rearm(entry_id=entry_id)
        return False


# A signup link (or the "you already have an account" notice) the mail backend did not take is retried:
# each attempt writes a fresh token, so the email that finally goes carries a working one.
@shared_task(name="organizations.send_signup_email", bind=True, max_retries=LOW_BALANCE_EMAIL_RETRIES)
def send_signup_email(self, signup_id: str) -> bool:
    try:
        return signup.signup_email_send(signup_id=signup_id)
    except signup.SignupEmailFailed as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=_retry_countdown(self.request.retries)) from None
        return False


# A reset link the mail backend did not take is retried with a fresh token (made by each attempt).
@shared_task(name="organizations.send_password_reset_email", bind=True, max_retries=LOW_BALANCE_EMAIL_RETRIES)
def send_password_reset_email(self, user_id: int) -> bool:
    try:
        return password_reset.password_reset_email_send(user_id=user_id)
    except password_reset.PasswordResetEmailFailed as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=_retry_countdown(self.request.retries)) from None
        return False
