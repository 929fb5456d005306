"""`manage.py api_contract --write|--check`: the committed API contract, regenerated from the code.

Two files: sdks/openapi.json (the partner OpenAPI document the SDKs are generated from) and CHANGELOG.md
(the dated versions of api/versions.py). `--check` exits 1 naming the files that drifted (CI runs it
through tests/config/test_schema_contract.py).
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from api.schema import openapi_document_text
from api.versions import changelog_markdown

ROOT = Path(settings.BASE_DIR)
CONTRACT = {
    "sdks/openapi.json": openapi_document_text,
    "CHANGELOG.md": lambda: changelog_markdown().rstrip("\n") + "\n",
}


def contract_drift() -> list[str]:
    """The contract files whose committed text differs from what the code generates now."""
    return [
        name
        for name, generate in CONTRACT.items()
        if not (ROOT / name).exists() or (ROOT / name).read_text() != generate()
    ]


class Command(BaseCommand):
    help = "Write (--write) or check (--check) sdks/openapi.json and CHANGELOG.md against the code."

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--write", action="store_true")
        mode.add_argument("--check", action="store_true")

    def handle(self, *args, write=False, check=False, **options):
        if check:
            drifted = contract_drift()
            if drifted:
                raise CommandError(
                    f"{', '.join(drifted)} drifted from the code: run `manage.py api_contract --write`."
                )
            self.stdout.write("The API contract matches the code.")
            return
        for name, generate in CONTRACT.items():
            (ROOT / name).parent.mkdir(parents=True, exist_ok=True)
            (ROOT / name).write_text(generate())
            self.stdout.write(f"wrote {name}")
