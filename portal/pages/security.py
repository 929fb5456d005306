"""The member's own security: an optional TOTP second factor (django-otp), enrolled with a QR code."""

from base64 import b32encode

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp.middleware import OTPMiddleware

from portal import second_factor
from portal.forms import CodeForm


def _qr_svg(text: str) -> str:
    # Our own SVG from qrcode's path writer: no image service ever sees the secret.
    return qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8).to_string(
        encoding="unicode"
    )


@sensitive_post_parameters("code", "password")
@never_cache
def security(request):
    return OTPMiddleware(_security)(request)


def _security(request):
    # Any signed-in user (a member or not) manages their own factor; the portal's pages check the rest.
    if not request.user.is_authenticated:
        return redirect("portal:login")
    user = request.user
    confirmed = second_factor.second_factor_enrolled(user=user)
    if confirmed and not user.is_verified():
        return redirect("portal:login-code")
    form = CodeForm()
    action = request.POST.get("action") if request.method == "POST" else None
    if action == "start" and not confirmed:
        second_factor.second_factor_start(user=user)
        return redirect("portal:security")
    if action == "confirm" and not confirmed:
        device, form = second_factor.second_factor_pending(user=user), CodeForm(request.POST)
        if device is not None and form.is_valid():
            if second_factor.second_factor_confirm(device=device, code=form.cleaned_data["code"]):
                otp_login(request, device)
                messages.success(request, "Two-step sign-in is on: each sign-in now asks for a code.")
                return redirect("portal:security")
            form.add_error(
                "code", "That code is not right. Check the clock of your phone, then try the next one."
            )
    if action == "remove" and confirmed:
        if user.check_password(request.POST.get("password", "")):
            second_factor.second_factor_remove(user=user)
            messages.success(request, "Two-step sign-in is off.")
            return redirect("portal:security")
        messages.error(request, "Your password is needed to turn two-step sign-in off.")
    device = None if confirmed else second_factor.second_factor_pending(user=user)
    return TemplateResponse(
        request,
        "portal/security.html",
        {
            "title": "Security",
            "confirmed": confirmed,
            "device": device,
            "secret": b32encode(device.bin_key).decode() if device else "",
            "qr": mark_safe(_qr_svg(device.config_url)) if device else "",  # noqa: S308 (our own SVG)
            "form": form,
        },
    )
