"""The national procedure code as pages, links, catalogues and exports write it."""

from __future__ import annotations

import re

CODE = r"\d\.\d{6}"  # the national code: 1.001108
AGENCY_SUFFIX = r"(?:\.[0-9A-Za-z.]+)?"  # what a province's copy may add: 1.000110.000.00.00.H01

NATIONAL_CODE = re.compile(CODE)
# a code inside running text: not part of a longer number, its agency suffix taken along
CODE_IN_TEXT = re.compile(rf"(?<![\d.])({CODE}){AGENCY_SUFFIX}")
