"""Settings of partners' accounts: signup and its grant, how many organizations one user owns, and the
notices sent to an organization's people. Read through config.environment like the rest of
config/settings.py (which star-imports this module); the README's Configuration table documents them."""

from config import environment

__all__ = [
    "MAX_ORGANIZATIONS_PER_USER",
    "SIGNUP_CREDIT_GRANT",
]

SIGNUP_CREDIT_GRANT = environment.read_positive_int("SIGNUP_CREDIT_GRANT", 100, minimum=0)  # once per user
# Signup credits go to a user's first organization only; this caps how many organizations one user owns.
MAX_ORGANIZATIONS_PER_USER = environment.read_positive_int("MAX_ORGANIZATIONS_PER_USER", 5)
