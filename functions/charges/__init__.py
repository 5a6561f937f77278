"""The charge function: SQS charge requests in, exactly one Stripe PaymentIntent per request out.

Follow a message through the modules in the order it meets them:

``contract``     parse and validate the message body (the producer-facing contract)
``claims``       claim the request in the DynamoDB idempotency table (Powertools)
``payments``     charge through Stripe with an idempotency key derived from ``request_id``
``outcomes``     what a record's result or error means: charged, declined, transient, poison
``dead_letters`` poison goes to the DLQ with a machine-readable reason
``handler``      the Lambda entry point that ties them together per batch
"""
