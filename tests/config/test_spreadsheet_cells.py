"""Spreadsheet cells are inert under any list separator (issue 27, item 14): OWASP's CSV injection rule,
checked the way a spreadsheet in another locale would read the file."""

import csv
import io
import random
import re
from pathlib import Path

import pytest

from api.spreadsheet_cells import FORMULA_STARTS, cell_text, csv_writer

ROOT = Path(__file__).resolve().parents[2]
RUNS = ("=", "+", "-", "@")


def written(rows: list[list[str]]) -> str:
    out = io.StringIO(newline="")
    writer = csv_writer(out)
    for row in rows:
        writer.writerow([cell_text(value) for value in row])
    return out.getvalue()


def live_cells(text: str, delimiter: str) -> list[str]:
    """Cells that start a formula once leading blanks and quotes are skipped, as spreadsheets skip them."""
    return [
        cell
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for cell in row
        if cell.lstrip(' "\t\r\n').startswith(RUNS)
    ]


@pytest.mark.parametrize(
    ("value", "inert"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t'=1"),
        ("\r=1", "'\r'=1"),
        (' "=1', "' \"=1"),
        ("Jo;=cmd|' /C calc'!A0", "Jo;'=cmd|' /C calc'!A0"),
        ("a,=1", "a,'=1"),
        ("a\n=1", "a\n'=1"),
        ('a; "=1', "a;' \"=1"),
        ("Ann", "Ann"),
        ("a-b=c", "a-b=c"),
        ("ann@example.com", "ann@example.com"),
        ("", ""),
    ],
)
def test_a_formula_start_is_escaped_at_the_start_and_after_every_separator(value, inert):
    assert cell_text(value) == inert


def test_the_issue_payload_is_one_quoted_inert_cell_under_both_separators():
    text = written([["c1", "Jo;=cmd|' /C calc'!A0", "x"]])
    assert text == '"c1","Jo;\'=cmd|\' /C calc\'!A0","x"\r\n'
    assert live_cells(text, ",") == live_cells(text, ";") == []


def test_no_cell_of_random_hostile_rows_starts_a_formula_under_any_separator():
    # Values built from formula starts, separators, quotes and blanks: whatever a `,`, `;` or tab reader
    # makes of the quoted file, no cell it sees starts a formula; a `,` reader gets the values back.
    rng = random.Random(27)
    alphabet = FORMULA_STARTS + ",;\n\"' a|"
    for _ in range(3000):
        rows = [["".join(rng.choices(alphabet, k=rng.randint(0, 10))) for _ in range(3)] for _ in range(3)]
        text = written(rows)
        assert list(csv.reader(io.StringIO(text, newline=""))) == [[cell_text(v) for v in r] for r in rows]
        for delimiter in (",", ";", "\t"):
            assert live_cells(text, delimiter) == [], (delimiter, rows)


def test_the_formula_starts_are_declared_once():
    # Another module listing them would be a second rule to keep in step (issue 27: "one neutralizer").
    pattern = re.compile(r"""["']=["'],\s*["']\+["']|["']=\+-@""")
    places = [
        str(path.relative_to(ROOT))
        for app in (
            "config",
            "api",
            "infrastructure",
            "organizations",
            "apikeys",
            "customers",
            "tryons",
            "webhooks",
            "usage",
        )
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and pattern.search(path.read_text())
    ]
    assert places == ["api/spreadsheet_cells.py"]
