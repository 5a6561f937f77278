"""moto's HTTP server with two of its SQS hot spots made cheap: ``python -m
chargeq_local.moto_server`` takes moto's own arguments.

Every answer stays moto's. Only how often, or how, it computes them changes:

- ``get_queue_attributes`` with named attributes builds ``Queue.attributes`` three times
  per name, and each build walks every message of the queue three times (the approximate
  counts). Here it is built once per call.
- ``receive_message`` checks each message it returns against the queue's retention period
  by asking ``get_queue_attributes`` for it (see above), so a receive from a DLQ holding a
  thousand messages walked them about ninety thousand times. Here the period is read from
  the queue itself, where ``get_queue_attributes`` reads it.
- Each of those walks asks every message whether it is visible and whether it is delayed,
  and each asks moto's clock, which builds two ``datetime`` objects to say what
  ``time.time()`` says. Here SQS's models read ``time.time()``.
- EventBridge's ``PutEvents`` parses each target's input paths with ``jsonpath_ng`` for
  every event, and each parse builds a new parser (its grammar tables included): a tenth
  of moto's samples in the soak once the outcome side published events. Here a path is
  parsed once and its (stateless) expression reused.
- Every request is routed by asking whether its host names a moto module, which lists
  moto's package folder and stats each of its entries (``list_of_moto_modules``). Here the
  folder is listed once: the installed package does not change while the server runs.

With the soak's DLQ near a thousand messages these made a move task take over a minute and
moto's SQS the busiest process of the run (profiled with py-spy: ``Queue.attributes`` was
half of moto's samples). Written against moto 5.2 (``requirements-dev.txt`` pins it); the
local runtime's SQS tests run through this server, so a moto upgrade that changes these
functions shows there.
"""

from __future__ import annotations

import datetime
import functools
import sys
import time
from typing import Any

import jsonpath_ng.ext as jsonpath_ext
import moto.sqs.models as sqs_models
from moto import backends
from moto.core import utils as moto_utils
from moto.sqs.models import Message, SQSBackend

_get_queue_attributes = SQSBackend.get_queue_attributes


def get_queue_attributes(
    self: SQSBackend, queue_name: str, attribute_names: list[str]
) -> dict[str, Any]:
    """moto's ``get_queue_attributes``, building the queue's attributes once."""
    queue = self.get_queue(queue_name)
    valid = {*queue.BASE_ATTRIBUTES, *queue.FIFO_ATTRIBUTES, *queue.KMS_ATTRIBUTES}
    if not attribute_names or "All" in attribute_names or not valid.issuperset(attribute_names):
        return _get_queue_attributes(self, queue_name, attribute_names)  # moto's own answer
    attributes = queue.attributes
    return {name: attributes[name] for name in attribute_names if attributes.get(name) is not None}


def is_message_valid_based_on_retention_period(
    self: SQSBackend, queue_name: str, message: Message
) -> bool:
    """moto's check, with the retention period read from the queue directly."""
    # Set from the queue's attributes by moto's Queue._set_attributes (not declared).
    retention_period = int(getattr(self.get_queue(queue_name), "message_retention_period"))  # noqa: B009
    return bool(retention_period + message.sent_timestamp / 1000 > unix_time())  # type: ignore[operator]


def unix_time(dt: datetime.datetime | None = None) -> float:
    """moto's ``unix_time``: seconds since the epoch of ``dt``, else of now."""
    return time.time() if dt is None else moto_utils.unix_time(dt)


def unix_time_millis(dt: datetime.datetime | None = None) -> float:
    """moto's ``unix_time_millis``: milliseconds since the epoch of ``dt``, else of now."""
    return unix_time(dt) * 1000.0


#: ``jsonpath_ng.ext.parse``, each path parsed once (moto's EventBridge imports it by name
#: at every call, so replacing the module's attribute reaches it).
parse_jsonpath = functools.lru_cache(maxsize=1024)(jsonpath_ext.parse)


@functools.cache
def moto_modules() -> tuple[str, ...]:
    """``moto.backends.list_of_moto_modules``, listed once."""
    return tuple(_list_of_moto_modules())


_list_of_moto_modules = backends.list_of_moto_modules


def install() -> None:
    """Replace the two methods on moto's SQS backend class, the clock its SQS models read,
    the JSONPath parser its EventBridge reads and its list of modules (this process
    only)."""
    sqs_models.unix_time = unix_time
    sqs_models.unix_time_millis = unix_time_millis
    jsonpath_ext.parse = parse_jsonpath
    backends.list_of_moto_modules = moto_modules
    SQSBackend.get_queue_attributes = get_queue_attributes  # type: ignore[method-assign]
    SQSBackend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
        is_message_valid_based_on_retention_period
    )


def main() -> None:
    install()
    from moto.server import main as moto_main

    moto_main(sys.argv[1:])


if __name__ == "__main__":
    main()
