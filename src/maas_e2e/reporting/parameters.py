"""How a parametrised case's values read in the Allure report.

Allure 3 tells tests apart by their parameters as displayed: cases of one test whose displays are
equal become one test with retries. allure-commons displays every `bytes` value as
`<class 'bytes'>` and an object without a repr of its own (a function, say) with its memory
address, which differs from run to run and so breaks the report's history. Here bytes read as
their Python literal, as the test writes them, and an object without a readable repr as the
case's pytest id (unique within its test, stable across runs); every other value reads as Allure
displays it.
"""

from __future__ import annotations

import re

from allure_commons.utils import represent

ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")
"""The tail of Python's default repr (`<function f at 0x7f...>`): no content, no two runs agree."""


def display(value: object, case_id: str) -> str:
    """What the report shows for `value`, a parameter of the case pytest names `case_id`."""
    if isinstance(value, bytes | bytearray):
        return repr(value)
    shown = represent(value)
    return case_id if ADDRESS.search(shown) else shown
