"""Settings of partners' accounts: signup and its grant, how many organizations one user owns, and the
notices sent to an organization's people. Read through config.environment like the rest of
config/settings.py (which star-imports this module); the README's Configuration table documents them."""

from django.core.exceptions import ImproperlyConfigured

from config import environment

__all__ = [
    "MAX_ORGANIZATIONS_PER_USER",
    "PARTNER_SIGNUP",
    "RATE_LIMIT_PER_DAY_DEFAULT",
    "RATE_LIMIT_PER_HOUR_DEFAULT",
    "SIGNUP_CREDIT_GRANT",
    "SIGNUP_LIMIT_PER_ADDRESS_PER_HOUR",
    "SIGNUP_LIMIT_PER_DOMAIN_PER_HOUR",
]

SIGNUP_CREDIT_GRANT = environment.read_positive_int("SIGNUP_CREDIT_GRANT", 100, minimum=0)  # once per user
# Signup credits go to a user's first organization only; this caps how many organizations one user owns.
MAX_ORGANIZATIONS_PER_USER = environment.read_positive_int("MAX_ORGANIZATIONS_PER_USER", 5)

# Who may create an account and organization without our staff (README, "Signup"): `closed` (staff create
# users), `invite` (staff invite a partner from the admin), `open` (anyone, once the email is verified).
PARTNER_SIGNUP = environment.read("PARTNER_SIGNUP", str, "closed").strip().lower()
if PARTNER_SIGNUP not in {"closed", "invite", "open"}:
    raise ImproperlyConfigured(f"PARTNER_SIGNUP must be closed, invite or open, got {PARTNER_SIGNUP!r}")
# Signup requests (each one sends an email) per client address and per email domain, per clock hour.
SIGNUP_LIMIT_PER_ADDRESS_PER_HOUR = environment.read_positive_int("SIGNUP_LIMIT_PER_ADDRESS_PER_HOUR", 5)
SIGNUP_LIMIT_PER_DOMAIN_PER_HOUR = environment.read_positive_int("SIGNUP_LIMIT_PER_DOMAIN_PER_HOUR", 20)

# An API key's hour and day windows beside its per-minute limit (API_KEY_DEFAULT_RATE_LIMIT), when the key
# sets none; 0 = no limit in that window. Keys override them (rateLimitPerHour, rateLimitPerDay).
RATE_LIMIT_PER_HOUR_DEFAULT = environment.read_positive_int("RATE_LIMIT_PER_HOUR_DEFAULT", 1000, minimum=0)
RATE_LIMIT_PER_DAY_DEFAULT = environment.read_positive_int("RATE_LIMIT_PER_DAY_DEFAULT", 10000, minimum=0)
