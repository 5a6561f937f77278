"""The CDK side of chargeq: one stack (``stack.py``) composed of one construct per concern."""

from infra.stack import ChargeQueueStack

__all__ = ["ChargeQueueStack"]
