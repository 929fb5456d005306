"""Signing in to the portal: Django's password sign-in (limited on failures as the token endpoint is), then
a TOTP code for members who enrolled one, sign-out, and Django's password-reset flow on our pages."""

import hashlib
import time

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.cache import cache
from django.db import transaction
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.middleware import OTPMiddleware

from api.client_address import client_address
from config.celery import app as celery_app
from organizations import login_attempts
from organizations.auth_views import FailureLimitedSignIn
from portal import selectors
from portal.forms import CodeForm

PENDING_USER_KEY = "portal_pending_user"
PENDING_AT_KEY = "portal_pending_at"
PENDING_SECONDS = 300  # the password step is good for this long while the code is typed
RESET_INTERVAL_SECONDS = 60  # one reset email per address per minute, however often the form is sent
RESET_EMAIL_TASK = "organizations.send_password_reset_email"  # the link is made in the worker


class PortalSignInForm(FailureLimitedSignIn, AuthenticationForm):
    pass


def _next(request, default: str | None = None) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if safe and target.startswith("/portal/") else default or reverse("portal:overview")


class SignInView(auth_views.LoginView):
    template_name = "portal/registration/login.html"
    authentication_form = PortalSignInForm
    redirect_authenticated_user = True

    def get_success_url(self):
        return _next(self.request)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "signup_open": settings.PARTNER_SIGNUP == "open"}

    def form_valid(self, form):
        user = form.get_user()
        if not user_has_device(user):
            return super().form_valid(form)
        # The password was right; the session is not signed in until the code is.
        self.request.session[PENDING_USER_KEY] = user.pk
        self.request.session[PENDING_AT_KEY] = time.time()
        return redirect(reverse("portal:login-code") + "?next=" + _next(self.request))


def _pending_user(request):
    if request.user.is_authenticated:
        return request.user  # signed in elsewhere (the admin) without this session's second factor
    started = request.session.get(PENDING_AT_KEY)
    if started is None or time.time() - started > PENDING_SECONDS:
        return None
    return selectors.active_user(user_id=request.session.get(PENDING_USER_KEY))


@sensitive_post_parameters("code")
@csrf_protect
@never_cache
def code_view(request):
    return OTPMiddleware(_code)(request)


def _code(request):
    user = _pending_user(request)
    if user is None or not user_has_device(user):
        return redirect(reverse("portal:login") + "?next=" + _next(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username = user.get_username()
        remaining = login_attempts.login_lock_remaining(username=username)
        device = None if remaining else match_token(user, form.cleaned_data["code"])
        if device is None:
            if remaining:
                form.add_error("code", login_attempts.locked_message(remaining))
            else:
                login_attempts.login_failure_record(username=username, address=client_address(request))
                form.add_error("code", "That code is not right (or was already used). Try the next one.")
        else:
            login_attempts.login_success_record(username=username)
            if not request.user.is_authenticated:
                auth.login(request, user)
            otp_login(request, device)
            for key in (PENDING_USER_KEY, PENDING_AT_KEY):
                request.session.pop(key, None)
            return redirect(_next(request))
    return TemplateResponse(request, "portal/registration/code.html", {"form": form, "next": _next(request)})


class SignOutView(auth_views.LogoutView):
    next_page = reverse_lazy("portal:login")


class ResetForm(PasswordResetForm):
    """Django's reset form: at most one email per address per minute (no mailbox flooding), sent by the
    worker (organizations.services.password_reset), which makes the link."""

    def get_users(self, email):
        address = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
        if not cache.add(f"portal:reset:{address}", 1, RESET_INTERVAL_SECONDS):
            return iter(())
        return super().get_users(email)

    def save(self, **kwargs):
        for user in self.get_users(self.cleaned_data["email"]):
            user_id = user.pk
            transaction.on_commit(lambda user_id=user_id: celery_app.tasks[RESET_EMAIL_TASK].delay(user_id))


class ResetView(auth_views.PasswordResetView):
    form_class = ResetForm
    template_name = "portal/registration/password_reset_form.html"
    success_url = reverse_lazy("portal:password-reset-done")


class ResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "portal/registration/password_reset_done.html"


class ResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "portal/registration/password_reset_confirm.html"
    success_url = reverse_lazy("portal:password-reset-complete")


class ResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "portal/registration/password_reset_complete.html"
