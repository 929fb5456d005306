"""The committed models are what the pinned generator makes of the committed OpenAPI document (CI's drift
check for Python; sdks/typescript's `npm run check-generated` does the same for TypeScript)."""

import subprocess
import sys
from pathlib import Path

GENERATE = Path(__file__).resolve().parents[2] / "generate.py"


def test_models_regenerate_from_the_openapi_document_without_a_diff():
    run = subprocess.run(
        [sys.executable, str(GENERATE), "--check", "--only", "python"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_generated_types_name_the_api_objects():
    import typing

    from garmax import types

    status = typing.get_type_hints(types.CartTryOnSession)["status"]
    assert {"completed", "partial", "failed", "cancelled"} <= set(typing.get_args(status))
    assert {"cartId", "customerPhotoS3Key", "cartItems"} <= types.CartTryOnCreateRequest.__required_keys__
