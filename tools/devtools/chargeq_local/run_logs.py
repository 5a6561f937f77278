"""The log directory of one local run: removed when the run succeeds, kept when it fails.

What a failed run tells the reader to look at must still be there afterwards, so the
directory survives a failed invariant or an exception, and the run says where it is. A
directory the caller chose is never removed.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from types import TracebackType


class RunLogs:
    """``with RunLogs("chargeq-demo-") as logs:`` … ``logs.keep()`` when the run failed."""

    def __init__(self, prefix: str, chosen: Path | None = None) -> None:
        self._prefix = prefix
        self._chosen = chosen
        self._keep = chosen is not None
        self.path = Path()

    def __enter__(self) -> RunLogs:
        if self._chosen is not None:
            self._chosen.mkdir(parents=True, exist_ok=True)
            self.path = self._chosen
        else:
            self.path = Path(tempfile.mkdtemp(prefix=self._prefix))
        return self

    def keep(self) -> None:
        """Keep the directory after the run (the run failed)."""
        self._keep = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._keep or exc_type is not None:
            print(f"the run's logs are kept in {self.path}", file=sys.stderr, flush=True)
        else:
            shutil.rmtree(self.path, ignore_errors=True)
