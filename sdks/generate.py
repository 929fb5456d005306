"""Regenerate the SDKs' models from sdks/openapi.json, or (--check) fail if the committed ones differ.

Python: TypedDicts by datamodel-code-generator (pinned in sdks/python's dev extras and the project's dev
extras) into sdks/python/src/garmax/_generated/models.py. TypeScript: openapi-typescript (pinned in
sdks/typescript/package-lock.json) into sdks/typescript/src/generated/openapi.ts; needs `npm ci` there first.

    python sdks/generate.py            # write both
    python sdks/generate.py --check    # exit 1 naming each file that would change
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SDKS = Path(__file__).resolve().parent
DOCUMENT = SDKS / "openapi.json"
PYTHON_MODELS = SDKS / "python" / "src" / "garmax" / "_generated" / "models.py"
TYPESCRIPT_TYPES = SDKS / "typescript" / "src" / "generated" / "openapi.ts"
HEADER = "# Generated from sdks/openapi.json by sdks/generate.py (datamodel-code-generator): do not edit.\n"


def python_models(output: Path) -> None:
    codegen = shutil.which("datamodel-codegen", path=str(Path(sys.executable).parent)) or "datamodel-codegen"
    subprocess.run(  # noqa: S603 - our own pinned generator on our own document
        [
            codegen,
            "--input", str(DOCUMENT),
            "--input-file-type", "openapi",
            "--output-model-type", "typing.TypedDict",
            "--target-python-version", "3.11",
            "--use-standard-collections",
            "--use-union-operator",
            "--enum-field-as-literal", "all",
            "--strict-nullable",
            "--no-use-closed-typed-dict",
            "--disable-timestamp",
            "--formatters", "builtin",
            "--custom-file-header", HEADER.rstrip("\n"),
            "--output", str(output),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    # typing's own TypedDict has NotRequired since 3.11: the SDK keeps no runtime dependency.
    text = output.read_text().replace(
        "from typing_extensions import TypedDict", "from typing import TypedDict"
    )
    output.write_text(text)


def typescript_types(output: Path) -> None:
    binary = SDKS / "typescript" / "node_modules" / ".bin" / "openapi-typescript"
    if not binary.exists():
        raise SystemExit(f"{binary} is missing: run `npm ci` in sdks/typescript first")
    command = [str(binary), str(DOCUMENT), "--output", str(output)]
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603 - the pinned generator


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed files, write nothing"
    )
    parser.add_argument("--only", choices=["python", "typescript"], help="one SDK only")
    args = parser.parse_args()
    targets = [("python", PYTHON_MODELS, python_models), ("typescript", TYPESCRIPT_TYPES, typescript_types)]
    drifted = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, committed, generate in targets:
            if args.only and args.only != name:
                continue
            fresh = Path(scratch) / committed.name
            generate(fresh)
            if args.check:
                if not committed.exists() or committed.read_bytes() != fresh.read_bytes():
                    drifted.append(str(committed.relative_to(SDKS.parent)))
            else:
                committed.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(fresh, committed)
    if drifted:
        print("generated SDK files differ from sdks/openapi.json; run `python sdks/generate.py`:", *drifted)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
