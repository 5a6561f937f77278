"""Lambda entry point: each SQS record is parsed, claimed, charged and recorded.

The batch uses Powertools' ``BatchProcessor`` with a partial batch response, so only the
records that failed transiently come back; records of one batch are charged concurrently
(``RECORDS_IN_FLIGHT``) because each waits hundreds of milliseconds on Stripe.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

# Imported before pydantic (through charges.*): when pydantic is already loaded, Powertools'
# batch module also loads every event model of its parser, about 60 ms of cold start.
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from charges.claims import Attempt
from charges.contract import parse_charge_request
from charges.delivery import Delivery
from charges.dependencies import Dependencies, get_dependencies
from charges.metric_names import MetricName
from charges.observability import count, logger, metrics
from charges.outcomes import (
    ChargeResult,
    PoisonMessage,
    Reason,
    TransientFailure,
    classify,
)


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
        request = parse_charge_request(record.body, deps.config.limits)
        # request_id is the correlation ID from producer to Stripe metadata.
        logger.thread_safe_append_keys(
            request_id=request.request_id, correlation_id=request.request_id
        )
        attempt = Attempt(Delivery.from_record(record))
        result = deps.charge_once()(request=request, attempt=attempt)
    except Exception as error:  # every error is settled below; none is swallowed
        settle_failure(record, error, deps)
        return None
    else:
        report(result, replayed=not attempt.ran)
        return result
    finally:
        logger.thread_safe_remove_keys(["message_id", "request_id", "correlation_id"])


def report(result: ChargeResult, *, replayed: bool) -> None:
    """Log and count a final result; a replayed one is a suppressed duplicate."""
    if replayed:
        count(MetricName.DUPLICATE_SUPPRESSED)
    elif result.outcome == "charged":
        count(MetricName.SUCCEEDED)
    else:
        count(MetricName.DECLINED)
    logger.info(
        "charge " + ("replayed" if replayed else result.outcome),
        request_id=result.request_id,
        outcome=result.outcome,
        payment_intent_id=result.payment_intent_id,
        status=result.status,
        error_code=result.error_code,
        decline_code=result.decline_code,
    )


def settle_failure(record: SQSRecord, error: Exception, deps: Dependencies) -> None:
    """Dead-letter poison at once; re-raise a transient failure unless deliveries ran out."""
    failure = classify(error)
    if failure is None:
        # Retrying an unknown error is safe (the claim and the Stripe key hold); losing
        # the message is not.
        logger.exception("unexpected error, will retry", message_id=record.message_id)
        failure = TransientFailure(Reason.UNEXPECTED_ERROR, type(error).__name__)
    if isinstance(failure, PoisonMessage):
        count(MetricName.POISON)
        if failure.reason is Reason.PAYLOAD_CONFLICT:
            count(MetricName.PAYLOAD_CONFLICT)
        dead_letter(record, failure, deps)
        return
    count(MetricName.TRANSIENT_FAILURE)
    if failure.reason is Reason.STRIPE_RATE_LIMITED:
        count(MetricName.STRIPE_RATE_LIMITED)
    receive_count = int(record.attributes.approximate_receive_count)
    if receive_count >= deps.config.max_receive_count:
        # The redrive policy would move it on the next receive, without a reason.
        exhausted = TransientFailure(
            Reason.RETRIES_EXHAUSTED, f"{failure.reason}: {failure.detail}"
        )
        dead_letter(record, exhausted, deps)
        return
    logger.warning(
        "transient failure, SQS will deliver again",
        message_id=record.message_id,
        reason=str(failure.reason),
        detail=failure.detail,
        receive_count=receive_count,
    )
    raise failure


def dead_letter(
    record: SQSRecord, failure: PoisonMessage | TransientFailure, deps: Dependencies
) -> None:
    """Send to the DLQ; if that fails, fail the record so SQS keeps it."""
    try:
        deps.dead_letters.send(record, failure)
    except Exception as error:
        logger.exception("could not dead-letter, will retry", message_id=record.message_id)
        raise TransientFailure(Reason.DLQ_UNAVAILABLE, type(error).__name__) from error
    logger.warning(
        "dead-lettered",
        message_id=record.message_id,
        reason=str(failure.reason),
        detail=failure.detail,
    )


class ConcurrentBatchProcessor(BatchProcessor):
    """Powertools' SQS ``BatchProcessor`` with the records of a batch charged concurrently.

    Each record still goes through Powertools' own per-record success/failure handling, so
    the partial batch response is exactly the sequential one. Standard queues only: a FIFO
    queue needs its message groups in order (Powertools' ``SqsFifoPartialProcessor``).
    """

    def __init__(self, threads: Executor | None) -> None:
        # An all-failed batch is reported like any other, not raised as an invocation error.
        super().__init__(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        # The container's pool (its size is the bound), not one per batch: see Dependencies.
        self._threads = threads

    def process(self) -> list[tuple[Any, ...]]:
        if self._threads is None or len(self.records) <= 1:
            return super().process()
        return list(self._threads.map(self._process_record, self.records))
