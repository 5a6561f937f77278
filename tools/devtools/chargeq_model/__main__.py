"""``python -m chargeq_model [MUTATION ...]``: run ``make verify``'s searches, or the named
mutations (see ``checks.py``), printing states, errors and any counterexample's story."""

from __future__ import annotations

import sys

from chargeq_model.checks import MUTATIONS, REDRIVE_CHAIN, VERIFY
from chargeq_model.spin import Check, run


def main(argv: list[str]) -> int:
    named = {**MUTATIONS, REDRIVE_CHAIN.name: REDRIVE_CHAIN}
    unknown = [name for name in argv if name not in named]
    if unknown:
        print(f"unknown: {' '.join(unknown)}; known: {' '.join(named)}", file=sys.stderr)
        return 2
    checks: tuple[Check, ...] = tuple(named[name] for name in argv) or VERIFY
    failed = False
    for check in checks:
        result = run(check)
        print(result.summary(), flush=True)
        for line in result.story:
            print("    " + line)
        failed |= result.errors > 0 or not result.complete
    total = sum(1 for _ in checks)
    print(f"{total} searches, errors: {'some' if failed else 0}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
