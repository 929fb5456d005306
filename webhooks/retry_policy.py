"""An endpoint's own retry policy: how many retries a failed delivery gets and how long each waits.

`{"maxRetries": 0-8, "schedule": [seconds, …]}`. Without one (null) the endpoint follows its organization:
`webhookRetries` retries (0-10, default 3) after 5 s, 15 s and 45 s, then ×3 each. A schedule gives the
waits of the first retries; retries beyond it wait 3× the one before, as the default does, never past
MAX_DELAY_SECONDS. Jitter (webhooks.services.sending) is added to every wait either way.
"""

from dataclasses import dataclass

from api.errors import ValidationError

DEFAULT_SCHEDULE = (5, 15, 45)  # then ×3 each
MAX_RETRIES = 8
MAX_SCHEDULE_LENGTH = 8
MAX_DELAY_SECONDS = 12 * 3600


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int
    schedule: tuple[int, ...] = DEFAULT_SCHEDULE
    # True when it is the organization's (the endpoint has none of its own): it follows webhookRetries.
    inherited: bool = False

    def delay(self, retry_number: int) -> int:
        """Seconds before retry `retry_number` (1-based), without jitter."""
        if retry_number <= len(self.schedule):
            return min(self.schedule[retry_number - 1], MAX_DELAY_SECONDS)
        return min(self.schedule[-1] * 3 ** (retry_number - len(self.schedule)), MAX_DELAY_SECONDS)

    def as_json(self) -> dict:
        """What partners read: the schedule written out for every retry the policy makes."""
        return {
            "maxRetries": self.max_retries,
            "schedule": [self.delay(n) for n in range(1, self.max_retries + 1)],
            "inherited": self.inherited,
        }


def retry_policy_validate(value) -> dict | None:
    """The stored form of a partner's `retryPolicy` (None: the organization's). 400 naming the field."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"maxRetries", "schedule"}:
        raise ValidationError(
            details={
                "retryPolicy": ['Must be an object {"maxRetries": 0-8, "schedule": [seconds, …]} or null.']
            }
        )
    errors = {}
    retries = value.get("maxRetries")
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        errors["retryPolicy.maxRetries"] = [f"Must be an integer from 0 to {MAX_RETRIES}."]
    schedule = value.get("schedule", list(DEFAULT_SCHEDULE))
    if (
        not isinstance(schedule, list)
        or not 1 <= len(schedule) <= MAX_SCHEDULE_LENGTH
        or not all(
            isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= MAX_DELAY_SECONDS for s in schedule
        )
    ):
        errors["retryPolicy.schedule"] = [
            f"Must be a list of 1 to {MAX_SCHEDULE_LENGTH} waits, each a whole number of seconds from 1 to "
            f"{MAX_DELAY_SECONDS}."
        ]
    if errors:
        raise ValidationError(details=errors)
    return {"maxRetries": retries, "schedule": schedule}


def retry_policy_of(webhook) -> RetryPolicy:
    """The policy a failed delivery to `webhook` follows (its organization loaded with it)."""
    stored = webhook.retry_policy
    if stored is None:
        return RetryPolicy(max_retries=webhook.organization.webhook_retries, inherited=True)
    return RetryPolicy(max_retries=stored["maxRetries"], schedule=tuple(stored["schedule"]))
