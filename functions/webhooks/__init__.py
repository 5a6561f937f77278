"""Stripe's webhook endpoint: verified PaymentIntent events settle pending requests."""
