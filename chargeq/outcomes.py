"""Follow a stack's outcome events: ``charge.<state>`` as the bus delivered them to its log.

The stack's rule on the outcome bus delivers every event, whole, to the log group
``settings.outcome_log_group_name`` (``infra.constructs.outcome_log``); the local runtime
does the same with moto. This reads it with ``FilterLogEvents`` (every page), from a start
time, and keeps each event once: the bus delivers at least once, and a redelivery carries
the same ``detail.event_id`` (``<request_id>/<state>``).

Following polls every few seconds from a little before the last poll: CloudWatch Logs
may make an event searchable after later ones, so each poll looks back ``LOOKBACK`` and
drops what it has shown already.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ledger.events import EVENT_SOURCE

#: How often ``follow`` asks for new events (seconds).
POLL_SECONDS = 5.0
#: How far back each poll of ``follow`` looks again for events that became searchable late.
LOOKBACK = timedelta(minutes=5)

_DURATION = re.compile(r"^(\d{1,6})([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: The oldest start ``--since`` accepts: CloudWatch Logs keeps the log a month.
MAX_SINCE = timedelta(days=366)


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h`` or ``7d`` as a positive duration of at most a year.

    Raises ``ValueError`` naming the accepted forms.
    """
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration: a whole number and s, m, h or d (15m, 2h)")
    duration = timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if duration > MAX_SINCE:
        raise ValueError(f"{text!r} is longer than a year")
    return duration


@dataclass(frozen=True)
class Outcome:
    """One outcome event: when the bus took it, its detail type and its detail."""

    time: str
    detail_type: str
    detail: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.detail.get("event_id", ""))

    def as_dict(self) -> dict[str, Any]:
        return {"time": self.time, "detail_type": self.detail_type, **self.detail}


def outcome_of(message: str) -> Outcome | None:
    """The outcome event a log line holds (an EventBridge event, as JSON), or None for a
    line that is not one (another source, not JSON)."""
    try:
        event = json.loads(message)
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("source") != EVENT_SOURCE:
        return None
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return None
    return Outcome(
        time=str(event.get("time", "")),
        detail_type=str(event.get("detail-type", "")),
        detail=detail,
    )


def read_outcomes(
    logs: Any, log_group_name: str, *, start_ms: int, request_id: str | None = None
) -> Iterator[Outcome]:
    """Every outcome event logged since ``start_ms`` (epoch milliseconds), in log order,
    every page; only ``request_id``'s when given.

    CloudWatch Logs narrows by the JSON filter pattern; the same test is made here, so a
    server that ignores the pattern (moto) gives the same answer. Raises botocore's
    ``ClientError`` (a missing log group: ``ResourceNotFoundException``).
    """
    request: dict[str, Any] = {"logGroupName": log_group_name, "startTime": start_ms}
    if request_id is not None:
        # request_id is letters, digits and _-:. (the contract): nothing to escape.
        request["filterPattern"] = f'{{ $.detail.request_id = "{request_id}" }}'
    while True:
        answer = logs.filter_log_events(**request)
        for logged in answer.get("events", []):
            outcome = outcome_of(logged.get("message", ""))
            if outcome is None:
                continue
            if request_id is not None and outcome.detail.get("request_id") != request_id:
                continue
            yield outcome
        token = answer.get("nextToken")
        if not token:
            return
        request["nextToken"] = token


def follow(
    logs: Any,
    log_group_name: str,
    *,
    start_ms: int,
    request_id: str | None = None,
    poll_seconds: float = POLL_SECONDS,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    polls: int | None = None,
) -> Iterator[Outcome]:
    """Each new outcome event, once (by ``event_id``), polling until interrupted (or for
    ``polls`` polls, for tests)."""
    seen: set[str] = set()
    since = start_ms
    done = 0
    while polls is None or done < polls:
        polled_at_ms = int(clock() * 1000)
        yield from unique(
            read_outcomes(logs, log_group_name, start_ms=since, request_id=request_id), seen
        )
        since = max(start_ms, polled_at_ms - int(LOOKBACK.total_seconds() * 1000))
        done += 1
        if polls is None or done < polls:
            sleep(poll_seconds)


def unique(outcomes: Iterator[Outcome], seen: set[str] | None = None) -> Iterator[Outcome]:
    """Each event once, by ``event_id`` (a redelivery repeats it); ``seen`` holds the IDs
    shown already, and is added to."""
    seen = set() if seen is None else seen
    for outcome in outcomes:
        if outcome.event_id not in seen:
            seen.add(outcome.event_id)
            yield outcome
