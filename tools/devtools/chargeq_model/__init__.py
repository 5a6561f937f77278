"""The charge protocol's Promela model, checked with SPIN (``make verify``), and the tool
that tells a counterexample as a story."""
