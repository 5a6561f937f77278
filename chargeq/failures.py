"""What went wrong, in one line that names the cause and the fix, with its exit status.

The command line never shows a traceback: every failure it can foresee becomes a
``CommandFailed`` (usage errors exit 2, an unreachable pipeline or AWS exits 3), and an
AWS error is explained by its real cause (no credentials, no region, no connection,
refused credentials, a missing resource) rather than as "pipeline not found".
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)

EXIT_OK, EXIT_ATTENTION, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3

#: Where boto3 finds credentials, and the local alternative; appended to credential hints.
CREDENTIALS_FIX = (
    "run 'aws configure' or 'aws sso login', or pass --profile (or set AWS_PROFILE); "
    "for the local stack use --local"
)

_REFUSED_CREDENTIALS = {
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "AuthFailure",
    "IncompleteSignature",
    "MissingAuthenticationToken",
}
_EXPIRED_CREDENTIALS = {"ExpiredToken", "ExpiredTokenException", "RequestExpired"}
_THROTTLED = {"Throttling", "ThrottlingException", "RequestThrottled", "TooManyRequestsException"}


class CommandFailed(Exception):
    """A failure a person can act on: one line (cause and fix) and the exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(" ".join(message.split()))  # one line, however it was built
        self.status = status


class UsageError(CommandFailed):
    """Bad input from the command line or a file: exit status 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


class Unreachable(CommandFailed):
    """The pipeline or AWS could not be reached or does not exist there: exit status 3."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_UNREACHABLE)


def explain_aws(error: BotoCoreError | ClientError, *, local: bool = False) -> CommandFailed:
    """The real cause of a boto3 failure and what to do about it.

    ``local`` says the command was talking to ``chargeq local``, whose failures have one
    likely fix: start it again.
    """
    if isinstance(error, ProfileNotFound):
        return UsageError(
            f"{error}: check --profile or AWS_PROFILE against ~/.aws/config "
            "('aws configure list-profiles')"
        )
    if isinstance(error, NoRegionError):
        return UsageError(f"no AWS region: {REGION_FIX}")
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return Unreachable(f"no usable AWS credentials ({error}): {CREDENTIALS_FIX}")
    if isinstance(error, SSOError | TokenRetrievalError | CredentialRetrievalError):
        return Unreachable(f"AWS credentials could not be loaded ({error}): {CREDENTIALS_FIX}")
    if isinstance(error, ConnectionError | HTTPClientError):
        endpoint = getattr(error, "kwargs", {}).get("endpoint_url", "AWS")
        fix = (
            "is 'chargeq local' still running? start it again"
            if local
            else "check --endpoint-url (or AWS_ENDPOINT_URL), the region and your network"
        )
        return Unreachable(f"cannot connect to {endpoint}: {fix}")
    if isinstance(error, ClientError):
        return _explain_client_error(error)
    return Unreachable(f"AWS error: {error}")


#: How to give a region; boto3 reads AWS_DEFAULT_REGION and the profile, chargeq also
#: AWS_REGION (as the AWS SDKs and CLI v2 do).
REGION_FIX = (
    "pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), or set 'region' in your AWS "
    "profile; for the local stack use --local"
)


def _explain_client_error(error: ClientError) -> CommandFailed:
    details = error.response.get("Error", {})
    code = str(details.get("Code", ""))
    message = str(details.get("Message", "")).strip()
    operation = error.operation_name
    if code in _REFUSED_CREDENTIALS:
        return Unreachable(f"AWS refused the credentials ({code}: {message}): {CREDENTIALS_FIX}")
    if code in _EXPIRED_CREDENTIALS:
        return Unreachable(
            f"the AWS credentials have expired ({code}): refresh them ('aws sso login' or "
            "new keys) and run the command again"
        )
    if code.startswith("AccessDenied") or code == "UnauthorizedOperation":
        return Unreachable(
            f"not allowed to call {operation} ({message}): use a profile or role with access "
            "to the pipeline (the stack's outputs name its resources)"
        )
    if code in _THROTTLED:
        return Unreachable(f"AWS is throttling {operation} ({code}): wait a moment and run again")
    if code == "ResourceNotFoundException":
        return Unreachable(
            f"{operation} found nothing there ({message}): check --stage or --stack-name, and "
            "deploy the stack again if it predates the charges ledger and its outcome log"
        )
    return Unreachable(f"AWS refused {operation} ({code}: {message})")
