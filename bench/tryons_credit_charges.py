"""Credit charges per second on PostgreSQL with 32 concurrent clients, and a lost-update check.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/garmax_tryons_bench \
        .venv/bin/python bench/tryons_credit_charges.py

Every client charges 1 credit per call with its own references, all against one organization (the worst
case: every charge queues on the same row lock). Prints charges/s and the number of lost updates, which must
be 0: the final balance must equal the starting balance minus what the ledger says was charged.
"""

import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["SIGNUP_CREDIT_GRANT"] = "1000000"
if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
    sys.exit("Set DATABASE_URL to a PostgreSQL database.")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from api.ids import new_id  # noqa: E402
from organizations.models import CreditLedgerEntry  # noqa: E402
from organizations.services import credits_charge, organization_create  # noqa: E402
from tests.concurrency import run_concurrently  # noqa: E402
from tests.factories import UserFactory  # noqa: E402

CLIENTS = 32
CHARGES_PER_CLIENT = 60


def main():
    call_command("migrate", verbosity=0)
    organization = organization_create(owner=UserFactory(username=new_id("bench")), name="bench-charges")
    start_balance = organization.credits

    def client(n):
        for i in range(CHARGES_PER_CLIENT):
            credits_charge(organization_id=organization.id, amount=1, reference=f"bench:{n}:{i}")

    started = time.perf_counter()
    run_concurrently(client, CLIENTS, timeout=600)
    elapsed = time.perf_counter() - started

    organization.refresh_from_db()
    charged = -sum(
        CreditLedgerEntry.objects.filter(organization=organization, kind="charge").values_list(
            "amount", flat=True
        )
    )
    total = CLIENTS * CHARGES_PER_CLIENT
    lost = (start_balance - organization.credits) - Decimal(total)
    print(f"clients={CLIENTS} charges={total} elapsed={elapsed:.2f}s charges_per_s={total / elapsed:.0f}")
    print(f"ledger_charged={charged} balance_drop={start_balance - organization.credits} lost_updates={lost}")


if __name__ == "__main__":
    main()
