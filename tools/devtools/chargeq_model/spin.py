"""Build and run SPIN's verifier (pan) over the charge-protocol model.

One ``Check`` is one exhaustive search: the model compiled with a set of ``-D`` bounds (and
mutations), either for safety (assertions, invalid end states) or for the LTL formula
``settles`` under weak fairness. ``run`` copies the model into a scratch directory, runs
``spin -a``, compiles ``pan.c`` with ``cc`` and runs it; on an error it replays the trail
(``spin -T -t``) and tells it as a story (``story.tell``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from chargeq_model.story import tell

#: The model in the repository (this package is installed editable from tools/devtools).
MODEL = Path(__file__).resolve().parents[3] / "model" / "charge_protocol.pml"

#: Compile flags common to every search: states stored compressed (COLLAPSE), and a memory
#: ceiling so a search that outgrows the machine stops instead of swapping.
BASE_CFLAGS = ("-O2", "-w", "-DCOLLAPSE", "-DMEMLIM=3072")


@dataclass(frozen=True)
class Check:
    """One search: its name, the model's ``-D`` defines, and safety or liveness."""

    name: str
    defines: tuple[str, ...] = ()
    liveness: bool = False
    #: Breadth-first search finds the shortest counterexample (safety only): short stories.
    breadth_first: bool = False


@dataclass(frozen=True)
class Result:
    """What pan reported: states stored, transitions, errors, seconds, and the story."""

    check: Check
    states: int
    transitions: int
    errors: int
    seconds: float
    complete: bool
    story: tuple[str, ...]
    output: str

    def summary(self) -> str:
        kind = "LTL settles, weak fairness" if self.check.liveness else "safety"
        return (
            f"{self.check.name} ({kind}; {' '.join(self.check.defines) or 'defaults'}): "
            f"{self.states:,} states, {self.transitions:,} transitions, "
            f"{self.seconds:.1f} s, errors: {self.errors}"
        )


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} not found: `make verify` installs spin (Debian package)")
    return path


def run(check: Check, model: Path = MODEL, max_depth: int = 100_000) -> Result:
    """Search ``model`` exhaustively under ``check``; raises if SPIN or cc fail to build."""
    spin, cc = _tool("spin"), _tool("cc")
    defines = [f"-D{define}" for define in check.defines]
    with tempfile.TemporaryDirectory(prefix="chargeq-spin-") as scratch:
        work = Path(scratch)
        for source in model.parent.glob("*.pml"):
            shutil.copy(source, work / source.name)
        _call([spin, *defines, "-a", model.name], work)
        cflags = [*BASE_CFLAGS]
        if check.liveness:
            cflags.append("-DNFAIR=3")
        else:
            cflags += ["-DSAFETY", "-DNOCLAIM"]
        if check.breadth_first:
            cflags.append("-DBFS")
        _call([cc, *cflags, "-o", "pan", "pan.c"], work)
        pan_args = [f"-m{max_depth}"]
        if check.liveness:
            pan_args += ["-a", "-f"]
        started = time.monotonic()
        output = _call([str(work / "pan"), *pan_args], work, check=False)
        seconds = time.monotonic() - started
        errors = _number(r"errors:\s*(\d+)", output)
        story: list[str] = []
        if errors and list(work.glob("*.trail")):
            replay = _call([spin, *defines, "-T", "-t", model.name], work, check=False)
            story = tell(replay)
    return Result(
        check=check,
        states=_number(r"(\d+) states, stored", output),
        transitions=_number(r"(\d+) transitions", output),
        errors=errors,
        seconds=seconds,
        complete="search depth too small" not in output and "out of memory" not in output,
        story=tuple(story),
        output=output,
    )


def _call(command: Sequence[str], cwd: Path, *, check: bool = True) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


def _number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    return int(found.group(1)) if found else 0
