"""A member's optional second factor: one TOTP device (django-otp), enrolled unconfirmed and confirmed by a
first right code; removed with the password."""

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "Authenticator app"


def second_factor_enrolled(*, user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def second_factor_pending(*, user) -> TOTPDevice | None:
    """The device being set up (scanned, not yet confirmed by a code)."""
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


def second_factor_start(*, user) -> TOTPDevice:
    """A fresh unconfirmed device (a new secret); an earlier unconfirmed one is dropped."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def second_factor_confirm(*, device: TOTPDevice, code: str) -> bool:
    """Confirm the device with a right code (django-otp throttles wrong ones); False for a wrong code."""
    if not device.verify_token(code):
        return False
    # Conditional: two tabs confirming at once leave one confirmed device, not two.
    TOTPDevice.objects.filter(pk=device.pk, confirmed=False).update(confirmed=True)
    device.refresh_from_db()
    return device.confirmed


def second_factor_remove(*, user) -> None:
    TOTPDevice.objects.filter(user=user).delete()
