"""The pipeline without AWS: moto's SQS, DynamoDB and Secrets Manager, the Stripe emulator,
and a poller that drives the real handler the way Lambda's SQS event source does."""
