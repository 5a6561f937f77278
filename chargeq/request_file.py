"""Charge requests from a JSON Lines file, each line checked on its own.

Every line is read: a line that is not JSON, or not a JSON object, is reported with its
number and the fault (``json`` for syntax, ``contract`` for the wrong shape) instead of
stopping the file, so the good lines can still be sent. The contract itself is checked by
the producer, which reports by position; ``RequestLines`` maps positions back to lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from charges.outcomes import Reason

#: What kind of fault a rejected line has, by the producer's reason.
FAULT_BY_REASON = {
    str(Reason.INVALID_JSON): "json",
    str(Reason.CONTRACT_VIOLATION): "contract",
    str(Reason.MISSING_REQUEST_ID): "contract",
    str(Reason.LIMIT_EXCEEDED): "contract",
    "rejected_by_sqs": "sqs",
    "send_failed": "sqs",
}


@dataclass(frozen=True)
class BadLine:
    """A line that never reached the producer."""

    line: int
    reason: str
    detail: str

    @property
    def fault(self) -> str:
        return FAULT_BY_REASON.get(self.reason, "contract")


@dataclass
class RequestLines:
    """The JSON objects of a file with their line numbers, and the lines that were not."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    line_numbers: list[int] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)

    def line_of(self, index: int) -> int:
        """The line number of the producer's ``index``-th request."""
        return self.line_numbers[index]


def read_request_lines(lines: Iterable[str]) -> RequestLines:
    """Parse each non-blank line; never raises for a bad line."""
    result = RequestLines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as error:
            result.bad.append(
                BadLine(
                    number,
                    str(Reason.INVALID_JSON),
                    f"not JSON: {error.msg} at column {error.colno}",
                )
            )
            continue
        if not isinstance(document, dict):
            result.bad.append(
                BadLine(
                    number,
                    str(Reason.CONTRACT_VIOLATION),
                    f"a JSON {type(document).__name__}, not an object",
                )
            )
            continue
        result.requests.append(document)
        result.line_numbers.append(number)
    return result
