"""Lambda entry point: each SQS record is parsed, claimed, charged and recorded.

The batch uses Powertools' ``BatchProcessor`` with a partial batch response, so only the
records that failed transiently come back; records of one batch are charged concurrently
(``RECORDS_IN_FLIGHT``) because each waits hundreds of milliseconds on Stripe. What becomes
of a record that fails is decided in ``charges.outcomes``.
"""

from __future__ import annotations

from typing import Any

# Imported before pydantic (through charges.*): when pydantic is already loaded, Powertools'
# batch module also loads every event model of its parser, about 60 ms of cold start.
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from charges.batch import ConcurrentBatchProcessor
from charges.contract import parse_charge_request
from charges.dependencies import Dependencies, get_dependencies
from charges.observability import logger, metrics
from charges.outcomes import ChargeResult, report, settle_failure


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_batch(event, context, get_dependencies())


def handle_batch(
    event: dict[str, Any], context: LambdaContext, deps: Dependencies
) -> dict[str, Any]:
    """Process one SQS batch and return the partial batch response."""
    # In-progress records expire with this invocation, so a retry after a crash can run.
    deps.idempotency.register_lambda_context(context)
    response = process_partial_response(
        event=event,
        record_handler=lambda record: handle_record(record, deps),
        processor=ConcurrentBatchProcessor(deps.record_threads),
        context=context,
    )
    return dict(response)


def handle_record(record: SQSRecord, deps: Dependencies) -> ChargeResult | None:
    """Parse, claim, charge, record. Raises only to ask SQS for another delivery."""
    logger.thread_safe_append_keys(message_id=record.message_id)
    try:
        # 1. Parse: anything that is not a charge request within the limits is poison.
        request = parse_charge_request(record.body, deps.config.limits)
        # request_id is the correlation ID from producer to Stripe metadata.
        logger.thread_safe_append_keys(
            request_id=request.request_id, correlation_id=request.request_id
        )
        # 2-4. Claim the request_id (a takeover of an earlier claim: look Stripe up first),
        # charge under the attempt's Stripe key, record the result; a completed claim
        # returns its stored result instead (Powertools idempotency, charges.claims).
        result = deps.charge_once()(request=request)
    except Exception as error:  # every error is settled by the outcome policy; none is lost
        settle_failure(record, error, deps.dead_letters, deps.config.max_receive_count)
        return None
    else:
        report(result)
        return result
    finally:
        logger.thread_safe_remove_keys(["message_id", "request_id", "correlation_id"])
