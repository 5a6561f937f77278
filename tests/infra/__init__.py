"""Infrastructure tests: CDK assertions on the synthesized stack, cdk-nag, the bundler."""

import os

# jsii prints a banner on start when Node.js is past its end of life (Node 20 here); the
# CDK still works on it, and the banner would bury the test output. `make synth` shows it.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
