"""Signing up from the portal, as PARTNER_SIGNUP allows: the open signup form and its email's verification
page, and the page a partner invitation's email opens. The signup endpoints' own serializers and service
path (limits included); a new account is signed in at once."""

from django.conf import settings
from django.contrib import auth, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from api.client_address import client_address
from organizations.services import signup
from organizations.signup_serializers import SignupSerializer, SignupVerifySerializer
from portal.actions import perform, validated


def _closed(request, message: str = signup.CLOSED_MESSAGE):
    return TemplateResponse(request, "portal/signup_closed.html", {"message": message}, status=404)


def _signed_in(request, result):
    auth.login(request, result.user)
    return redirect("portal:overview")


@sensitive_post_parameters("password", "password_again")
@never_cache
def signup_page(request):
    mode = settings.PARTNER_SIGNUP
    if mode == "closed":
        return _closed(request)
    if mode != "open":
        return _closed(request, signup.INVITE_ONLY_MESSAGE)
    sent = None
    if request.method == "POST":
        form = {
            "email": request.POST.get("email", ""),
            "password": request.POST.get("password", ""),
            "organizationName": request.POST.get("organizationName", ""),
        }
        if form["password"] != request.POST.get("password_again", ""):
            messages.error(request, "The two passwords differ.")
        elif (data := validated(request, SignupSerializer, form)) is not None:
            sent = perform(
                request,
                lambda: signup.signup_submit(
                    address=client_address(request),
                    password=data["password"],
                    organization_name=data["organizationName"],
                    email=data["email"],
                ),
                done="Check your email: a link to verify it is on its way (it works once, within 24 hours).",
            )
    return TemplateResponse(request, "portal/signup.html", {"sent": sent, "title": "Sign up"})


@never_cache
def verify_page(request, token: str):
    if settings.PARTNER_SIGNUP != "open":
        return _closed(request)
    if request.method == "POST":  # never on GET: mail scanners open links, a person presses the button
        data = validated(request, SignupVerifySerializer, {"token": token})
        result = data and perform(
            request, lambda: signup.signup_verify_submit(token=data["token"]), done="Your account is ready."
        )
        if result:
            return _signed_in(request, result)
    return TemplateResponse(request, "portal/signup_verify.html", {"title": "Verify your email"})


@sensitive_post_parameters("password", "password_again")
@never_cache
def invitation_page(request, token: str):
    if settings.PARTNER_SIGNUP == "closed":
        return _closed(request)
    if request.method == "POST":
        form = {
            "token": token,
            "password": request.POST.get("password", ""),
            "organizationName": request.POST.get("organizationName", ""),
        }
        if form["password"] != request.POST.get("password_again", ""):
            messages.error(request, "The two passwords differ.")
        elif (data := validated(request, SignupSerializer, form)) is not None:
            result = perform(
                request,
                lambda: signup.signup_submit(
                    address=client_address(request),
                    password=data["password"],
                    organization_name=data["organizationName"],
                    token=data["token"],
                ),
                done="Your account and organization are ready.",
            )
            if result:
                return _signed_in(request, result)
    return TemplateResponse(request, "portal/signup_invitation.html", {"title": "Create your organization"})
