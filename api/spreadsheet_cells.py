"""Text written into a spreadsheet file (CSV or XLSX) that no spreadsheet runs as a formula.

OWASP's CSV injection guidance: a cell must not start with `=`, `+`, `-`, `@`, a tab or a carriage return;
that is not enough on its own, because a reader splitting on another separator (`;` is the list separator
of most of continental Europe) or at a line break starts a new cell in the middle of a value
(`Jo;=cmd|' /C calc'!A0` is two cells there, the second a live formula); and every cell is quoted. So a `'`
goes before a formula start at the beginning of the text and after every `,`, `;`, tab or line break in it
(quotes and spaces in between count as nothing: `a; "=1` is caught too), and CSV writers quote every cell.
"""

import csv
import re

FORMULA_STARTS = "=+-@\t\r"
# Where some reader may start a cell: the text's beginning, or right after one of these.
CELL_SEPARATORS = ",;\t\r\n"

_CELL_START = re.compile(rf"(^|[{re.escape(CELL_SEPARATORS)}])(?=[ \"]*[{re.escape(FORMULA_STARTS)}])")


def cell_text(value: str) -> str:
    """`value` as a spreadsheet cell's text: inert under any list separator (see the module docstring)."""
    return _CELL_START.sub(r"\1'", value)


def csv_writer(stream):
    """A csv writer quoting every cell (numbers included, so no reader takes a bare cell for something else);
    the caller passes text through `cell_text`."""
    return csv.writer(stream, quoting=csv.QUOTE_ALL)
