"""The fault soak: thousands of requests through the local pipeline with every fault kind
mixed in, ending with the invariants (no double charge, nothing lost, no wrong outcome)."""
