"""The benchmark's figures, the performance targets checked against them, and their rendering.

``chargeq bench`` prints the text form; ``--markdown`` prints the same figures and the cost
table as Markdown for docs/performance.md; ``--json`` prints everything measured.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
from dataclasses import asdict, dataclass, field

from chargeq_bench.cold_start import ColdStart
from chargeq_bench.costs import ASSUMPTIONS, CostLine, Usage, cost_per_million

#: The handler the targets are about, and the column ratios are taken against.
SUBJECT = "chargeq"


@dataclass(frozen=True)
class HandlerFigures:
    """What one handler did in the benchmark (raw totals; per-record figures derived)."""

    name: str
    fresh_records: int
    duplicate_records: int
    invocations: int
    records_per_second: float
    latency_p50_ms: float
    latency_p99_ms: float
    billed_ms: int
    #: CPU time of the worker processes over the fresh pass (what Lambda memory buys).
    cpu_ms: float
    dynamodb_fresh: int
    dynamodb_writes_fresh: int
    dynamodb_reads_fresh: int
    dynamodb_duplicate: int
    stripe_fresh: int
    stripe_duplicate: int
    failed_records: int
    double_charges: int
    peak_memory_mb: float
    log_bytes: int
    #: Invocations of ten fresh records with every Stripe call taking exactly L.
    batch_of_ten_ms: list[float] = field(default_factory=list)
    #: The same with the run's jitter (L +/- J): a batch waits for its slowest call.
    batch_of_ten_jitter_ms: list[float] = field(default_factory=list)
    #: The same with Stripe answering at once: what moto and the interpreter add locally.
    batch_of_ten_floor_ms: list[float] = field(default_factory=list)
    #: Stripe requests per second over the fresh pass (a backlog: the whole pass is sent
    #: before it drains), from the first invocation's start to the last one's end.
    stripe_requests_per_second: float = 0.0
    #: 429 ``rate_limit`` answers over the fresh pass. The bench injects no 429 fault and
    #: nothing else uses the emulator, so every one is caused by the pipeline's own load.
    stripe_rate_limited: int = 0
    #: Per fresh request, ms from its idempotency record's COMPLETED write to its outcome
    #: event's arrival in the bus's subscription queue (``bench._outcome_lags``).
    outcome_lag_ms: list[float] = field(default_factory=list)

    @property
    def outcome_lag_p50_ms(self) -> float:
        return _percentile(self.outcome_lag_ms, 50)

    @property
    def outcome_lag_p99_ms(self) -> float:
        return _percentile(self.outcome_lag_ms, 99)

    @property
    def billed_seconds_per_1000(self) -> float:
        return self.billed_ms / max(self.fresh_records, 1)

    @property
    def cpu_ms_per_record(self) -> float:
        return self.cpu_ms / max(self.fresh_records, 1)

    @property
    def dynamodb_per_fresh(self) -> float:
        return self.dynamodb_fresh / max(self.fresh_records, 1)

    @property
    def dynamodb_writes_per_fresh(self) -> float:
        return self.dynamodb_writes_fresh / max(self.fresh_records, 1)

    @property
    def dynamodb_per_duplicate(self) -> float:
        return self.dynamodb_duplicate / max(self.duplicate_records, 1)

    @property
    def stripe_per_fresh(self) -> float:
        return self.stripe_fresh / max(self.fresh_records, 1)

    @property
    def stripe_per_duplicate(self) -> float:
        return self.stripe_duplicate / max(self.duplicate_records, 1)

    @property
    def batch_of_ten_median_ms(self) -> float:
        return _median(self.batch_of_ten_ms)

    @property
    def batch_of_ten_jitter_median_ms(self) -> float:
        return _median(self.batch_of_ten_jitter_ms)

    @property
    def batch_of_ten_floor_median_ms(self) -> float:
        return _median(self.batch_of_ten_floor_ms)

    def usage(self, memory_mb: int, concurrency: int) -> Usage:
        """This handler's measured consumption, for the cost model."""
        records = max(self.fresh_records, 1)
        return Usage(
            billed_ms_per_charge=self.billed_ms / records,
            invocations_per_charge=self.invocations / records,
            dynamodb_writes_per_charge=self.dynamodb_writes_fresh / records,
            dynamodb_reads_per_charge=self.dynamodb_reads_fresh / records,
            log_bytes_per_charge=self.log_bytes / records,
            charges_per_second=max(self.records_per_second, 1e-9),
            memory_mb=memory_mb,
            concurrency=concurrency,
        )


@dataclass(frozen=True)
class Target:
    """One of the performance targets, the figure measured for it, and whether it is met."""

    target: str
    measured: str
    met: bool


def describe_machine() -> str:
    """CPU model, cores, OS and Python: enough to read the figures in context."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


@dataclass
class BenchReport:
    """Everything one ``chargeq bench`` run measured."""

    requests: int
    latency_ms: float
    jitter_ms: float
    seed: int
    concurrency: int
    batch_size: int
    records_in_flight: int
    memory_mb: int
    handlers: list[HandlerFigures]
    cold_start: ColdStart | None
    machine: str = field(default_factory=describe_machine)
    #: The configured Stripe limit, requests per second (``stripe_rate_limit``), that the
    #: emulator enforces too.
    stripe_rate_limit: float = 0.0

    def handler(self, name: str) -> HandlerFigures | None:
        return next((figures for figures in self.handlers if figures.name == name), None)

    def costs(self, figures: HandlerFigures) -> list[CostLine]:
        return cost_per_million(figures.usage(self.memory_mb, self.concurrency))

    def rows(self) -> list[tuple[str, list[float], str]]:
        """(label, one value per handler, format) for the comparison table."""

        def row(label: str, values: list[float], fmt: str = "{:,.1f}") -> tuple:
            return (label, values, fmt)

        h = self.handlers
        return [
            row("records/s", [f.records_per_second for f in h]),
            row("latency per record p50 (ms)", [f.latency_p50_ms for f in h], "{:,.0f}"),
            row("latency per record p99 (ms)", [f.latency_p99_ms for f in h], "{:,.0f}"),
            row(
                "batch of 10, every Stripe call L (ms)",
                [f.batch_of_ten_median_ms for f in h],
                "{:,.0f}",
            ),
            row(
                "batch of 10, Stripe L ± jitter (ms)",
                [f.batch_of_ten_jitter_median_ms for f in h],
                "{:,.0f}",
            ),
            row(
                "batch of 10, Stripe at 0 ms (local floor)",
                [f.batch_of_ten_floor_median_ms for f in h],
                "{:,.0f}",
            ),
            row("billed duration per 1,000 records (s)", [f.billed_seconds_per_1000 for f in h]),
            row("CPU per fresh record (ms)", [f.cpu_ms_per_record for f in h]),
            row("DynamoDB requests per fresh record", [f.dynamodb_per_fresh for f in h], "{:.2f}"),
            row("DynamoDB requests per duplicate", [f.dynamodb_per_duplicate for f in h], "{:.2f}"),
            row("Stripe calls per fresh record", [f.stripe_per_fresh for f in h], "{:.2f}"),
            row("Stripe calls per duplicate", [f.stripe_per_duplicate for f in h], "{:.2f}"),
            row(
                f"Stripe requests/s on a backlog (limit {self.stripe_rate_limit:g})",
                [f.stripe_requests_per_second for f in h],
            ),
            row(
                "Stripe 429s caused by the pipeline's load",
                [float(f.stripe_rate_limited) for f in h],
                "{:.0f}",
            ),
            row("double charges", [float(f.double_charges) for f in h], "{:.0f}"),
            row("peak memory per worker (MB)", [f.peak_memory_mb for f in h], "{:.0f}"),
            row(
                "AWS cost per million charges ($)",
                [sum(line.dollars for line in self.costs(f)) for f in h],
                "{:,.2f}",
            ),
        ]

    def targets(self) -> list[Target]:
        """The performance targets, for this project's handler."""
        subject = self.handler(SUBJECT)
        if subject is None:
            return []
        batch = subject.batch_of_ten_median_ms
        targets = [
            Target(
                f"batch of 10 within 1.5 x L ({1.5 * self.latency_ms:.0f} ms), "
                "every Stripe call taking L",
                f"median {batch:.0f} ms = {batch / self.latency_ms:.2f} x L "
                f"(worst {max(subject.batch_of_ten_ms, default=0):.0f} ms; "
                f"{subject.batch_of_ten_floor_median_ms:.0f} ms with Stripe at 0 ms); "
                f"with ± {self.jitter_ms:.0f} ms jitter: "
                f"{subject.batch_of_ten_jitter_median_ms:.0f} ms",
                0 < batch <= 1.5 * self.latency_ms,
            ),
            Target(
                "at most 2 DynamoDB writes per fresh record",
                f"{subject.dynamodb_writes_per_fresh:.2f} writes "
                f"({subject.dynamodb_per_fresh:.2f} requests)",
                subject.dynamodb_writes_per_fresh <= 2,
            ),
            Target(
                "at most 1 DynamoDB request and 0 Stripe calls per completed duplicate",
                f"{subject.dynamodb_per_duplicate:.2f} DynamoDB, "
                f"{subject.stripe_per_duplicate:.2f} Stripe",
                subject.dynamodb_per_duplicate <= 1 and subject.stripe_duplicate == 0,
            ),
        ]
        if self.stripe_rate_limit:
            share = subject.stripe_requests_per_second / self.stripe_rate_limit
            measured = (
                f"{subject.stripe_requests_per_second:.1f} requests/s = {share:.0%}"
                if subject.stripe_requests_per_second
                # ``_backlog_rate`` needs a backlog of at least a rate-limit window
                else "not measured: the pass was too short to hold a backlog (try -n 300)"
            )
            targets.append(
                Target(
                    f"at least 90% of the Stripe rate limit ({self.stripe_rate_limit:g}/s) "
                    "sustained on a backlog, 0 self-caused 429s",
                    f"{measured}; {subject.stripe_rate_limited} 429s",
                    share >= 0.9 and subject.stripe_rate_limited == 0,
                )
            )
        if self.cold_start:
            cold = self.cold_start
            targets.append(
                Target(
                    "import + initialisation within 1.2 x importing boto3 and stripe",
                    f"{cold.handler_ms:.0f} ms ({cold.import_ms:.0f} ms of imports) vs "
                    f"{cold.baseline_ms:.0f} ms = {cold.ratio:.2f} x (median of {cold.repeats}); "
                    f"boto3, stripe and the required libraries alone: "
                    f"{cold.libraries_ms:.0f} ms = {cold.libraries_ms / cold.baseline_ms:.2f} x",
                    cold.ratio <= 1.2,
                )
            )
        return targets

    def outcome_lag_lines(self) -> list[str]:
        """The outcome events' lag, per handler that keeps idempotency records."""
        return [
            f"{f.name}: p50 {f.outcome_lag_p50_ms:,.0f} ms, p99 {f.outcome_lag_p99_ms:,.0f} ms "
            f"over {len(f.outcome_lag_ms)} requests"
            for f in self.handlers
            if f.outcome_lag_ms
        ]

    def _ratio_names(self) -> list[str]:
        names = [f.name for f in self.handlers]
        return [name for name in names if name != SUBJECT] if SUBJECT in names else []

    def _table(self) -> tuple[list[str], list[list[str]]]:
        """Header and cells of the comparison table, ratios included."""
        names = [f.name for f in self.handlers]
        index = {name: position for position, name in enumerate(names)}
        others = self._ratio_names()
        header = ["", *names, *(f"{SUBJECT} ÷ {name}" for name in others)]
        body = []
        for label, values, fmt in self.rows():
            cells = [fmt.format(value) for value in values]
            for name in others:
                other = values[index[name]]
                mine = values[index[SUBJECT]]
                cells.append(f"{mine / other:.2f}" if other else "-")
            body.append([label, *cells])
        return header, body

    def _setup(self) -> str:
        return (
            f"{self.requests} fresh requests then the same {self.requests} again, per handler; "
            f"Stripe emulator latency {self.latency_ms:g} ms ± {self.jitter_ms:g} ms; "
            f"event-source concurrency {self.concurrency}, batch size {self.batch_size}, "
            f"{self.records_in_flight} records in flight (chargeq), {self.memory_mb} MB; "
            f"seed {self.seed}. Machine: {self.machine}."
        )

    def render(self) -> str:
        """The text report."""
        header, body = self._table()
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
        lines = [self._setup(), ""]
        for row in [header, *body]:
            cells = [row[0].ljust(widths[0])] + [
                cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
            ]
            lines.append("  ".join(cells))
        lines += ["", "targets (chargeq):"]
        lines += [
            f"  [{'met' if t.met else 'MISSED'}] {t.target}: {t.measured}" for t in self.targets()
        ]
        if self.outcome_lag_lines():
            lines += ["", f"{OUTCOME_LAG}:"]
            lines += [f"  {line}" for line in self.outcome_lag_lines()]
        for figures in self.handlers:
            lines += ["", f"AWS cost per million charges, {figures.name}:"]
            lines += [
                f"  {line.item:<16} ${line.dollars:>9,.2f}  {line.basis}"
                for line in self.costs(figures)
            ]
        return "\n".join(lines)

    def markdown(self) -> str:
        """The figures, targets and cost table as Markdown (for docs/performance.md)."""
        header, body = self._table()
        lines = [self._setup(), "", _md_row(header), _md_row(["---"] * len(header))]
        lines += [_md_row(row) for row in body]
        lines += ["", "| target (chargeq) | measured | met |", "|---|---|---|"]
        lines += [
            _md_row([t.target, t.measured, "yes" if t.met else "**no**"]) for t in self.targets()
        ]
        if self.outcome_lag_lines():
            lines += ["", f"{OUTCOME_LAG}:", ""]
            lines += [f"- {line}" for line in self.outcome_lag_lines()]
        names = [f.name for f in self.handlers]
        costs = {f.name: self.costs(f) for f in self.handlers}
        subject = SUBJECT if SUBJECT in costs else names[-1]
        lines += [
            "",
            f"AWS cost per million charges (USD; basis: {subject}'s measured usage):",
            "",
            _md_row(["item", f"basis ({subject})", *names]),
            _md_row(["---"] * (2 + len(names))),
        ]
        for position, line in enumerate(costs[subject]):
            cells = [f"${costs[name][position].dollars:,.2f}" for name in names]
            lines.append(_md_row([line.item, line.basis, *cells]))
        totals = [f"**${sum(line.dollars for line in costs[name]):,.2f}**" for name in names]
        lines.append(_md_row(["**total**", "", *totals]))
        lines += ["", "Assumptions:", ""] + [f"- {text}" for text in ASSUMPTIONS]
        return "\n".join(lines)

    def to_json(self) -> str:
        document = asdict(self)
        document["targets"] = [asdict(target) for target in self.targets()]
        document["costs"] = {
            f.name: [asdict(line) for line in self.costs(f)] for f in self.handlers
        }
        return json.dumps(document, indent=2)


#: What the outcome lag measures, printed above its figures.
OUTCOME_LAG = (
    "Outcome event lag, from the idempotency record's COMPLETED write (the worker's "
    "botocore after-call time) to the event's arrival in the bus's subscription queue "
    "(SentTimestamp): the ledger writer's and publisher's stream polls (4 a second) and "
    "their writes"
)


def _percentile(values: list[float], percent: float) -> float:
    """Nearest-rank percentile; 0 when nothing was measured."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def _median(values: list[float]) -> float:
    """The median; 0 when nothing was measured (a handler skipped)."""
    return statistics.median(values) if values else 0.0


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
