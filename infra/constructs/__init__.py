"""One construct per concern, in the order a message meets them; ``infra.stack`` wires them."""
