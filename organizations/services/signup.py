"""Partners signing up without our staff, in the mode the operator chose (PARTNER_SIGNUP; README, "Signup").

- `open`: a signup request keeps the email, the organization's name and the password's hash (never the
  password) and answers at once; the email task writes a single-use token and mails it, and verifying the
  token creates the user and the organization (with its signup grant: only a verified email gets credits).
  An email that already has an account gets the same answer and an email saying so, written by the
  worker: the request itself never looks at the users, so nothing in it (answer or timing) tells whether
  the account exists.
- `invite`: staff invite an email from the admin; the mailed token proves the email, and signing up with it
  creates the user and the organization at once.
- `closed`: nothing here is reachable (the views answer 404), staff create users.

Tokens: we keep only their SHA-256. Each is used once: one conditional UPDATE stamps `used_at`, inside the
transaction that creates the user and organization, so concurrent uses of one token create one of each and
a failed creation leaves the token unused. The email task (organizations.tasks) calls these services, so
they queue it by its name in the Celery app's registry, never by importing it back.
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from api.errors import Conflict, Forbidden, ResourceNotFound, ValidationError
from api.text import display_text
from config.celery import app as celery_app
from organizations import signup_limits
from organizations.models import Organization, SignupRequest
from organizations.services.organizations import organization_create

logger = logging.getLogger("garmax.organizations")

Kind = SignupRequest.Kind
SIGNUP_REQUEST_TTL = timedelta(hours=24)
PARTNER_INVITATION_TTL = timedelta(days=7)
SEND_SIGNUP_EMAIL_TASK = "organizations.send_signup_email"
# What the emails point at: the portal's pages, and the endpoints beside them for partners who script it.
VERIFY_PAGE = "/portal/signup/verify/{token}/"
INVITATION_PAGE = "/portal/signup/invitation/{token}/"
SIGN_IN_PAGE = "/portal/login/"
VERIFY_PATH = "/api/auth/signup/verify"
SIGNUP_PATH = "/api/auth/signup"
SIGN_IN_PATH = "/api/auth/token"
CLOSED_MESSAGE = "Signup is not available here: GarmaxAI staff create accounts (PARTNER_SIGNUP=closed)."
INVITE_ONLY_MESSAGE = "Signup is by invitation: send the token from your invitation email."


@dataclass(frozen=True)
class SignupResult:
    user: object
    organization: Organization


def email_normalize(email: str) -> str:
    """`email` as we store and compare it: trimmed, its domain lowercased (the local part is kept)."""
    local, _, domain = email.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def email_domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _account_exists(email: str) -> bool:
    return get_user_model().objects.filter(Q(email__iexact=email) | Q(username__iexact=email)).exists()


def new_account_password_check(*, email: str, password: str) -> None:
    """Django's password validators (AUTH_PASSWORD_VALIDATORS) for the account this email would get (a
    signup's, or an invitation's new member's)."""
    candidate = get_user_model()(username=email, email=email)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise ValidationError(
            "Choose a stronger password.", details={"password": list(exc.messages)}
        ) from None


def signup_request_create(*, email: str, password: str, organization_name: str) -> SignupRequest:
    """PARTNER_SIGNUP=open: record a request to sign up and email its verification link (after commit).

    The password is checked now (400) and kept only as Django's hash. Whether the email already has an
    account is the email task's business, so this call does the same work and writes the same row either
    way. Rate limits are the caller's (organizations.signup_limits)."""
    email = email_normalize(email)
    new_account_password_check(email=email, password=password)
    with transaction.atomic():
        signup = SignupRequest.objects.create(
            kind=Kind.VERIFICATION,
            email=email,
            organization_name=organization_name,
            password_hash=make_password(password),
            expires_at=timezone.now() + SIGNUP_REQUEST_TTL,
        )
        transaction.on_commit(lambda: _email_queue(signup.pk))
    return signup


def partner_invitation_create(*, email: str, actor) -> SignupRequest:
    """Staff invite a new partner by email (the admin's "Invite a partner"): a token mailed after commit,
    valid for PARTNER_INVITATION_TTL, that signs up this email with a new organization. Refused while
    signup is closed (the token could not be used) and for an email that already has an account (add them
    to an organization instead)."""
    email = email_normalize(email)
    partner_invitation_check(email=email)
    with transaction.atomic():
        signup = SignupRequest.objects.create(
            kind=Kind.INVITATION,
            email=email,
            invited_by=actor,
            expires_at=timezone.now() + PARTNER_INVITATION_TTL,
        )
        transaction.on_commit(lambda: _email_queue(signup.pk))
    return signup


def partner_invitation_check(*, email: str) -> None:
    """Conflict unless a partner invitation for `email` could be used now (the admin form asks first)."""
    if settings.PARTNER_SIGNUP == "closed":
        raise Conflict("Signup is closed (PARTNER_SIGNUP=closed): an invitation could not be used.")
    if _account_exists(email_normalize(email)):
        raise Conflict(
            "This email already has an account: add it to an organization as a member instead.",
            details={"email": email},
        )


def _email_queue(signup_id: str) -> None:
    try:
        celery_app.tasks[SEND_SIGNUP_EMAIL_TASK].delay(signup_id)
    except Exception as exc:
        # The partner can ask again (or staff invite again); the request expires unused.
        logger.warning("Could not queue the signup email for %s: %s", signup_id, type(exc).__name__)


class SignupEmailFailed(Exception):
    """The mail backend did not take a signup email; the message names the error's type only."""

    def __str__(self) -> str:
        return self.args[0]


def signup_email_send(*, signup_id: str) -> bool:
    """Mail a pending signup request its link; returns whether an email went.

    A fresh token is written (its hash) before each send, so the token never travels through the broker and
    a retried send mails a working link (an earlier one, if it went, stops working). A verification request
    for an email that already has an account is used up without a token, and the email says so instead.
    A mail-backend error raises SignupEmailFailed, for the task to retry."""
    now = timezone.now()
    signup = SignupRequest.objects.filter(pk=signup_id, used_at__isnull=True, expires_at__gt=now).first()
    if signup is None:
        return False
    if signup.kind == Kind.VERIFICATION and _account_exists(signup.email):
        if not SignupRequest.objects.filter(pk=signup.pk, used_at__isnull=True).update(
            used_at=now, password_hash=""
        ):
            return False
        subject, body = _existing_account_email(signup)
    else:
        token = secrets.token_urlsafe(32)
        if not SignupRequest.objects.filter(pk=signup.pk, used_at__isnull=True).update(
            token_hash=_token_hash(token)
        ):
            return False
        subject, body = (_invitation_email if signup.kind == Kind.INVITATION else _verification_email)(
            signup, token
        )
    try:
        send_mail(subject=subject, message=body, from_email=None, recipient_list=[signup.email])
    except Exception as exc:
        raise SignupEmailFailed(f"signup email for {signup.pk}: {type(exc).__name__}") from None
    return True


def _verification_email(signup: SignupRequest, token: str) -> tuple[str, str]:
    name = display_text(signup.organization_name)
    url = settings.PUBLIC_BASE_URL + VERIFY_PATH
    return (
        f"Verify your email to create {name} on GarmaxAI",
        f"Someone (we hope you) asked to create the organization {name} on GarmaxAI with this email.\n\n"
        f"Verify it in the GarmaxAI portal: {settings.PUBLIC_BASE_URL}{VERIFY_PAGE.format(token=token)}\n\n"
        f"(or POST this token to {url}:\n\n"
        f'    {{"token": "{token}"}})\n\n'
        f"The token works once, until {signup.expires_at:%Y-%m-%d %H:%M} UTC. Your account and organization "
        "are created then, with the password you chose; sign in with your email as the username.\n"
        "If it was not you, ignore this email: nothing is created.\n",
    )


def _existing_account_email(signup: SignupRequest) -> tuple[str, str]:
    base = settings.PUBLIC_BASE_URL
    return (
        "You already have a GarmaxAI account",
        "Someone (we hope you) asked to sign up to GarmaxAI with this email, but it already has an "
        "account, so nothing was created.\n\n"
        f"Sign in with it in the portal ({base}{SIGN_IN_PAGE}) or the API ({base}{SIGN_IN_PATH}); an "
        "organization you own can be created with "
        f"POST {base}/api/organizations. If you forgot your password, ask your organization's owner or "
        "GarmaxAI support.\nIf it was not you, ignore this email.\n",
    )


def _invitation_email(signup: SignupRequest, token: str) -> tuple[str, str]:
    url = settings.PUBLIC_BASE_URL + SIGNUP_PATH
    page = settings.PUBLIC_BASE_URL + INVITATION_PAGE.format(token=token)
    return (
        "You are invited to GarmaxAI",
        "GarmaxAI invites you to create your organization and account.\n\n"
        f"Create them in the GarmaxAI portal: {page}\n\n"
        f"(or POST to {url}, with this token, your organization's name and a password of your choice:)\n\n"
        f'    {{"token": "{token}", "organizationName": "…", "password": "…"}}\n\n'
        f"The invitation works once, until {signup.expires_at:%Y-%m-%d %H:%M} UTC. Your email is your "
        "username.\n",
    )


def _refused(what: str) -> ResourceNotFound:
    # One answer for every token that creates nothing: unknown, expired, used, or of the other kind.
    return ResourceNotFound(f"This {what} does not exist, has expired, or was already used.")


def _claimed(*, token: str, kind: str, what: str) -> SignupRequest:
    """The pending request of this token, stamped used by one conditional UPDATE (inside the caller's
    transaction): of concurrent callers with one token, exactly one gets it."""
    now = timezone.now()
    found = SignupRequest.objects.filter(token_hash=_token_hash(token or ""), kind=kind).first()
    if found is None or found.used_at is not None or found.expires_at <= now:
        raise _refused(what)
    # The WHERE used_at IS NULL is re-checked under the row lock: a second caller updates nothing.
    if not SignupRequest.objects.filter(pk=found.pk, used_at__isnull=True).update(used_at=now):
        raise _refused(what)
    return found


def _user_create(*, email: str, password_hash: str):
    User = get_user_model()
    conflict = Conflict(
        "This email already has an account: sign in, then create an organization with POST "
        "/api/organizations.",
        details={"email": email},
    )
    if _account_exists(email):
        raise conflict
    user = User(username=email, email=email, is_active=True, password=password_hash)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # the same username made meanwhile
        raise conflict from None
    return user


def _organization_for(signup: SignupRequest, user, name: str) -> SignupResult:
    organization = organization_create(owner=user, name=name)
    SignupRequest.objects.filter(pk=signup.pk).update(user=user, organization=organization, password_hash="")
    return SignupResult(user=user, organization=organization)


def signup_verify(*, token: str) -> SignupResult:
    """PARTNER_SIGNUP=open: the verified email's user (username = email, the password chosen at signup)
    and its organization, owned by it, with the signup grant. All or nothing, once per token: a token that
    is unknown, expired or used is a 404, an email that got an account meanwhile a 409 (the token stays
    unused)."""
    with transaction.atomic():
        signup = _claimed(token=token, kind=Kind.VERIFICATION, what="verification link")
        user = _user_create(email=signup.email, password_hash=signup.password_hash)
        return _organization_for(signup, user, signup.organization_name)


def signup_with_invitation(*, token: str, password: str, organization_name: str) -> SignupResult:
    """PARTNER_SIGNUP=invite (or open): the invited email's user, with `password`, and its organization
    named `organization_name`, at once (the token proves the email). Same refusals as signup_verify; a
    weak password is a 400 that leaves the invitation unused."""
    found = SignupRequest.objects.filter(token_hash=_token_hash(token or ""), kind=Kind.INVITATION).first()
    if found is None or found.used_at is not None or found.expires_at <= timezone.now():
        raise _refused("invitation")
    new_account_password_check(email=found.email, password=password)
    with transaction.atomic():
        signup = _claimed(token=token, kind=Kind.INVITATION, what="invitation")
        user = _user_create(email=signup.email, password_hash=make_password(password))
        return _organization_for(signup, user, organization_name)


def signups_pending():
    """Signup requests and partner invitations not used and not expired yet, newest first."""
    return SignupRequest.objects.filter(used_at__isnull=True, expires_at__gt=timezone.now())


def signup_closed() -> ResourceNotFound:
    return ResourceNotFound(CLOSED_MESSAGE)


def signup_submit(
    *, address: str, password: str, organization_name: str, email: str | None = None, token: str | None = None
) -> SignupResult | str:
    """The one path of the signup endpoint and the portal's signup pages, by PARTNER_SIGNUP: an invitation's
    `token` creates the account and organization at once (returns them); in `open` mode an `email` gets
    its verification link (returns the normalized email). Closed: 404; an email while invite-only: 403.
    Counted against the signup limits (per address, and per email domain) once the input is known good."""
    mode = settings.PARTNER_SIGNUP
    if mode == "closed":
        raise signup_closed()
    if token is not None:
        signup_limits.signup_attempt_count(address=address, domain=None)
        return signup_with_invitation(token=token, password=password, organization_name=organization_name)
    if mode != "open":
        raise Forbidden(INVITE_ONLY_MESSAGE, details={"signup": "invite"})
    email = email_normalize(email or "")
    new_account_password_check(email=email, password=password)
    signup_limits.signup_attempt_count(address=address, domain=email_domain(email))
    signup_request_create(email=email, password=password, organization_name=organization_name)
    return email


def signup_verify_submit(*, token: str) -> SignupResult:
    """The verify endpoint's and page's path: only while signup is open (404 otherwise)."""
    if settings.PARTNER_SIGNUP != "open":
        raise signup_closed()
    return signup_verify(token=token)
