"""Answer an AWS call with a service error from a botocore event hook, without a server.

A handler registered for ``before-call.<service>.<Operation>`` may return
``(http_response, parsed_response)`` instead of None; botocore then skips the request and
treats the answer as the service's: ``after-call`` hooks see it, and the client raises the
modelled exception for the error code (a ``ClientError`` subclass such as
``client.exceptions.ProvisionedThroughputExceededException``), exactly as it would for the
service's own reply. botocore's retries are skipped too: the answer stands for a call whose
every retry failed the same way.
"""

from __future__ import annotations

from typing import Any

from botocore.awsrequest import AWSResponse

#: DynamoDB's answer when a table or index throttles a request: HTTP 400 with this code
#: (DynamoDB Developer Guide, "Error handling with DynamoDB":
#: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
DYNAMODB_THROTTLING = "ProvisionedThroughputExceededException"


def error_response(
    code: str, message: str, *, status: int = 400
) -> tuple[AWSResponse, dict[str, Any]]:
    """What a ``before-call`` handler returns to answer with the error ``code``."""
    http = AWSResponse(url="", status_code=status, headers={}, raw=None)
    parsed = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0},
    }
    return http, parsed
