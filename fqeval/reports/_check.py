"""The regression gate: compare two runs and fail on drops larger than ``max_drop``.

**Cells.** For every criterion and ``Overall`` (``--cells all|overall|criteria``) and every
system of the baseline (``--systems``, ``--criteria`` narrow it), the headline metric ``m``
(``selection_rate``, ``win_rate``, ``mean_score``; ``mean_rank`` where lower is better) gives
``drop = m_baseline - m_current`` (``m_current - m_baseline`` for ``mean_rank``).

**Rule.** Each cell tests ``H0: drop <= max_drop`` against ``H1: drop > max_drop`` (one-sided,
against the margin, not against 0) and gets a raw p-value ``p_raw``. The ``m`` cells tested
form one family; ``p_adjusted`` is Holm's step-down adjustment by default (``--correction
holm|bonferroni|bh|none``, :mod:`fqeval.analysis._multiplicity`). A cell **fails** when
``p_adjusted <= alpha``. A cell of the baseline that the current run lacks (its system or
criterion is gone, or it has no valid judgment any more) fails as ``missing`` with the reason
named, unless ``allow_missing``. The gate passes when no cell fails. So with every true drop
``<= max_drop`` the gate fails with probability at most ``alpha`` (Holm and Bonferroni: under
any dependence between cells; BH: when nothing changed), up to the tests' own calibration,
which ``benchmarks/bench_gate.py`` measures.

**Tests.** *Paired* when both runs come with their judgments (``judgments.jsonl``) and share
QA pairs: unit by unit differences clustered by QA pair and a sign-flip permutation test
(:mod:`fqeval.analysis._paired`; exact at ``max_drop = 0``). Only units judged validly in both
runs enter, and ``baseline``/``current`` are the means over those units. *Unpaired*
otherwise (no judgments, no shared QA pair, or ``paired=False``), from the two summaries: each
95% interval gives ``se = (high - low) / (2 z)``, ``z = Phi^-1(0.975)``, the runs are taken as
independent and ``p_raw = 1 - Phi((drop - max_drop) / sqrt(se_b^2 + se_c^2))`` (both widths 0:
``p = 0`` when ``drop > max_drop``, else 1). A cell with fewer than 2 shared QA pairs in a
paired comparison uses the unpaired test; each row names its test.

**Reported per cell:** ``baseline``, ``current``, ``drop``, ``ci`` (95%: ``drop +- z se``),
``p_raw``, ``p_adjusted``, ``mde`` and ``decision`` (``fail``/``pass``/``skip``). The minimum
detectable effect is the true drop this gate detects with 80% power at this ``n``::

    mde = max_drop + (z_{1 - alpha_1} + z_{0.80}) * se

with ``alpha_1`` the first step's per-test level (``alpha / m`` under Holm, Bonferroni and
BH, ``alpha`` with no correction), ``se`` the drop's standard error (paired or
``sqrt(se_b^2 + se_c^2)``); a normal approximation, ``mde = max_drop`` when ``se = 0``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from scipy import stats

from fqeval.analysis._frame import read_judgments
from fqeval.analysis._multiplicity import (
    CORRECTION_NAMES,
    CORRECTIONS,
    adjust_p_values,
    first_step_level,
)
from fqeval.analysis._paired import PairedCell, PairedDrops, paired_drops, panel_units
from fqeval.analysis._summary import METRIC_OF_MODE, OVERALL_OF_MODE
from fqeval.errors import UsageError
from fqeval.reports._runs import JUDGMENTS, load_run, read_summary

OVERALL = "Overall"
GATED_METRICS: tuple[str, ...] = ("selection_rate", "win_rate", "mean_score", "mean_rank")
CELL_SCOPES: tuple[str, ...] = ("all", "overall", "criteria")
POWER = 0.80
CI_LEVEL = 0.95
#: Means of the judgments and of summary.json may differ by float rounding only.
_MATCH_TOLERANCE = 1e-9


@dataclass(frozen=True)
class GateRun:
    """One side of the comparison: its ``summary.json`` and, when its judgments are at hand,
    the panel unit table behind the summary (:func:`fqeval.analysis._paired.panel_units`)."""

    summary: Mapping[str, Any]
    units: pd.DataFrame | None = None
    source: str = ""
    #: why there is no unit table (shown when the gate falls back to the unpaired test)
    no_units_reason: str = ""


@dataclass(frozen=True)
class GateOptions:
    """The gate's settings (the ``fqeval check`` options)."""

    max_drop: float = 0.0
    alpha: float = 0.05
    correction: str = "holm"
    cells: str = "all"
    systems: tuple[str, ...] = ()
    criteria: tuple[str, ...] = ()
    allow_missing: bool = False
    paired: bool = True
    n_flips: int = 10_000
    seed: int = 0


@dataclass(frozen=True)
class CheckRow:
    """One cell. ``decision``: ``fail`` | ``pass`` | ``skip`` (not tested; ``reason`` says why).

    ``status`` keeps the earlier, finer vocabulary (fail | drop | up | same | untested |
    missing | new) and ``delta = current - baseline``, for scripts that read them.
    """

    criterion: str
    system: str
    metric: str
    baseline: float | None
    current: float | None
    drop: float | None
    ci: tuple[float, float] | None
    p_raw: float | None
    p_adjusted: float | None
    mde: float | None
    decision: str
    reason: str
    test: str  # paired | unpaired | ""
    n: int | None
    status: str
    se: float | None = None

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    @property
    def p(self) -> float | None:
        """The raw one-sided p-value (the field's earlier name)."""
        return self.p_raw

    def to_dict(self) -> dict[str, Any]:
        return {
            "criterion": self.criterion,
            "system": self.system,
            "metric": self.metric,
            "baseline": self.baseline,
            "current": self.current,
            "drop": self.drop,
            "ci": list(self.ci) if self.ci else None,
            "p_raw": self.p_raw,
            "p_adjusted": self.p_adjusted,
            "mde": self.mde,
            "decision": self.decision,
            "reason": self.reason,
            "test": self.test,
            "n": self.n,
            "status": self.status,
            "delta": self.delta,
            "p": self.p_raw,
        }


@dataclass
class CheckResult:
    passed: bool
    max_drop: float
    alpha: float
    correction: str
    method: str
    paired: bool
    family_size: int = 0
    notes: list[str] = field(default_factory=list)
    rows: list[CheckRow] = field(default_factory=list)

    @property
    def failures(self) -> list[CheckRow]:
        return [r for r in self.rows if r.decision == "fail"]

    @property
    def family(self) -> str:
        """``"30 cells, Holm at alpha 0.05"``."""
        cells = f"{self.family_size} cell{'s' if self.family_size != 1 else ''}"
        if self.correction == "none":
            return f"{cells}, no correction, each at alpha {self.alpha:g}"
        return f"{cells}, {CORRECTION_NAMES[self.correction]} at alpha {self.alpha:g}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "max_drop": self.max_drop,
            "alpha": self.alpha,
            "correction": self.correction,
            "family": {"size": self.family_size, "description": self.family},
            "test": "paired" if self.paired else "unpaired",
            "method": self.method,
            "power": POWER,
            "ci_level": CI_LEVEL,
            "notes": list(self.notes),
            "failures": len(self.failures),
            "rows": [r.to_dict() for r in self.rows],
        }


PAIRED_METHOD = (
    "paired sign-flip permutation test over {n} shared QA pairs ({flips}): H0 drop <= max_drop"
)
UNPAIRED_METHOD = (
    "unpaired one-sided normal test from the two summaries' 95% intervals "
    "(se = width / 3.92): H0 drop <= max_drop"
)


def _blocks(summary: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    blocks = {c: b.get("systems", {}) for c, b in (summary.get("criteria") or {}).items()}
    blocks[OVERALL] = (summary.get("overall") or {}).get("systems", {})
    return blocks


def _metric(summary: Mapping[str, Any]) -> str:
    metric = summary.get("metric") or METRIC_OF_MODE.get(str(summary.get("mode")), "")
    if metric:
        return str(metric)
    for block in _blocks(summary).values():
        for entry in block.values():
            found = next((m for m in GATED_METRICS if m in entry), "")
            if found:
                return found
    return ""


def _se(ci: Any, z: float) -> float | None:
    if not ci or ci[0] is None or ci[1] is None:
        return None
    return max(0.0, float(ci[1]) - float(ci[0])) / (2.0 * z)


def drop_p_value(drop: float, se_baseline: float, se_current: float, margin: float = 0.0) -> float:
    """One-sided p of ``drop > margin`` under ``N(margin, se_b^2 + se_c^2)``; zero width -> 0/1."""
    scale = math.hypot(se_baseline, se_current)
    if scale == 0.0:
        return 0.0 if drop > margin else 1.0
    return float(stats.norm.sf((drop - margin) / scale))


def _validate(baseline: Mapping[str, Any], current: Mapping[str, Any], opts: GateOptions) -> None:
    if not 0.0 < opts.alpha < 1.0:
        raise UsageError(f"--alpha must be between 0 and 1, got {opts.alpha}")
    if not opts.max_drop >= 0:
        raise UsageError(f"--max-drop must be >= 0, got {opts.max_drop}")
    if opts.correction not in CORRECTIONS:
        raise UsageError(
            f"--correction must be one of {', '.join(CORRECTIONS)}, got '{opts.correction}'"
        )
    if opts.cells not in CELL_SCOPES:
        raise UsageError(f"--cells must be one of {', '.join(CELL_SCOPES)}, got '{opts.cells}'")
    if baseline.get("mode") != current.get("mode"):
        raise UsageError(
            f"cannot compare a '{baseline.get('mode')}' summary with a '{current.get('mode')}' one"
        )
    if baseline.get("mode") == "pairwise" and baseline.get("reference") != current.get("reference"):
        raise UsageError(
            "cannot compare win rates against different references "
            f"('{baseline.get('reference')}' and '{current.get('reference')}')"
        )
    blocks = _blocks(baseline)
    systems = {s for block in blocks.values() for s in block}
    for name, wanted, known in (
        ("--systems", opts.systems, systems),
        ("--criteria", opts.criteria, set(blocks) - {OVERALL}),
    ):
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise UsageError(
                f"{name}: {', '.join(repr(u) for u in unknown)} not in the baseline "
                f"(it has {', '.join(sorted(known)) or 'none'})"
            )


_Cell = tuple[str, str, Mapping[str, Any] | None, Mapping[str, Any] | None, str]


def _cells(
    baseline: Mapping[str, Any], current: Mapping[str, Any], opts: GateOptions
) -> Iterator[_Cell]:
    """(criterion, system, baseline entry, current entry, missing reason) in table order."""
    base_blocks, cur_blocks = _blocks(baseline), _blocks(current)
    criteria = [c for c in base_blocks if c != OVERALL]
    criteria += [c for c in cur_blocks if c not in base_blocks]
    if opts.criteria:
        criteria = [c for c in criteria if c in opts.criteria]
    rows: list[str] = []
    if opts.cells in ("all", "criteria"):
        rows += criteria
    if opts.cells in ("all", "overall"):
        rows.append(OVERALL)
    base_systems = list(baseline.get("systems") or [])
    cur_systems = set(current.get("systems") or [])
    for criterion in rows:
        b_sys, c_sys = base_blocks.get(criterion, {}), cur_blocks.get(criterion, {})
        for system in [*b_sys, *[s for s in c_sys if s not in b_sys]]:
            if opts.systems and system not in opts.systems:
                continue
            reason = ""
            if system in b_sys and system not in c_sys:
                if base_systems and system in base_systems and system not in cur_systems:
                    reason = f"system '{system}' is not in the current run"
                elif criterion not in cur_blocks:
                    reason = f"criterion '{criterion}' is not in the current run"
                else:
                    reason = f"'{system}' has no '{criterion}' cell in the current run"
            yield criterion, system, b_sys.get(system), c_sys.get(system), reason


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2.0))


def _mde_factor(alpha_1: float) -> float:
    """``z_{1 - alpha_1} + z_{POWER}``: standard errors between the margin and the MDE."""
    return float(stats.norm.isf(alpha_1)) + float(stats.norm.ppf(POWER))


def _shared_clusters(base: pd.DataFrame, cur: pd.DataFrame) -> int:
    shared = pd.Index(base["question_id"].unique()).intersection(cur["question_id"].unique())
    return len(shared)


def _units_match_summary(units: pd.DataFrame, summary: Mapping[str, Any], metric: str) -> str:
    """'' when the unit table's means are the summary's per-criterion figures, else why not."""
    means = units.groupby(["criterion", "system"])["value"].mean()
    for criterion, block in (summary.get("criteria") or {}).items():
        for system, entry in (block.get("systems") or {}).items():
            expected = entry.get(metric)
            got = means.get((criterion, system))
            if expected is None and got is None:
                continue
            if (
                expected is None
                or got is None
                or abs(float(got) - float(expected))
                > (_MATCH_TOLERANCE * max(1.0, abs(float(expected))))
            ):
                return f"its judgments do not reproduce summary.json ({criterion}, {system})"
    return ""


def check_runs(
    baseline: GateRun, current: GateRun, options: GateOptions | None = None
) -> CheckResult:
    """Compare ``current`` with ``baseline`` under ``options`` (see the module docstring).

    Pure: no I/O. Raises :class:`UsageError` for a bad option, runs of different modes or
    pairwise references, and ``--systems``/``--criteria`` names the baseline does not have.
    """
    opts = options or GateOptions()
    b_sum, c_sum = baseline.summary, current.summary
    _validate(b_sum, c_sum, opts)
    metric = _metric(b_sum) or _metric(c_sum)
    mode = str(b_sum.get("mode"))
    higher = metric != "mean_rank"
    level = float(c_sum.get("ci_level") or b_sum.get("ci_level") or CI_LEVEL)
    z = _z(level)
    notes: list[str] = []

    paired = _pairing(baseline, current, opts, metric, notes)
    cells = list(_cells(b_sum, c_sum, opts))
    # (row index, p) of the cells in the family, then adjusted together.
    drafts: list[dict[str, Any]] = []
    for criterion, system, b_entry, c_entry, missing in cells:
        drafts.append(
            _draft(criterion, system, metric, b_entry, c_entry, missing, paired, higher, z, opts)
        )
    tested = [k for k, d in enumerate(drafts) if d["p_raw"] is not None]
    adjusted = adjust_p_values([drafts[k]["p_raw"] for k in tested], opts.correction)
    for k, p_adj in zip(tested, adjusted, strict=True):
        drafts[k]["p_adjusted"] = p_adj
    m = len(tested)
    factor = _mde_factor(first_step_level(opts.alpha, m, opts.correction))
    rows = [_finish(d, opts, factor) for d in drafts]

    if paired is not None:
        flips = f"all {paired.flips:,} sign patterns" if paired.exact else f"{paired.flips:,} flips"
        method = PAIRED_METHOD.format(n=paired.n_clusters, flips=flips)
        if any(r.test == "unpaired" for r in rows):
            notes.append("cells with fewer than 2 shared QA pairs use the unpaired test")
    else:
        method = UNPAIRED_METHOD
    result = CheckResult(
        passed=not any(r.decision == "fail" for r in rows),
        max_drop=opts.max_drop,
        alpha=opts.alpha,
        correction=opts.correction,
        method=method,
        paired=paired is not None,
        family_size=m,
        notes=notes,
        rows=rows,
    )
    if mode not in METRIC_OF_MODE:
        result.notes.append(f"unknown mode '{mode}': compared by '{metric}'")
    return result


def _pairing(
    baseline: GateRun, current: GateRun, opts: GateOptions, metric: str, notes: list[str]
) -> PairedDrops | None:
    """The paired comparison, or ``None`` (with a note saying why) for the unpaired test."""
    if not opts.paired:
        notes.append("unpaired test as asked (paired=False / --unpaired)")
        return None
    for name, run in (("baseline", baseline), ("current", current)):
        if run.units is None:
            why = run.no_units_reason or "no judgments given"
            notes.append(f"unpaired test: the {name} run has no judgments ({why})")
            return None
        mismatch = _units_match_summary(run.units, run.summary, metric)
        if mismatch:
            notes.append(f"unpaired test: the {name} run's {mismatch}")
            return None
    assert baseline.units is not None and current.units is not None
    shared = _shared_clusters(baseline.units, current.units)
    if shared < 2:
        notes.append(f"unpaired test: the runs share {shared} QA pair(s) with valid judgments")
        return None
    b_sum = baseline.summary
    criteria = [c for c in (b_sum.get("criteria") or {})]
    systems = list(b_sum.get("systems") or [])
    systems += [
        s for block in _blocks(b_sum).values() for s in block if s not in systems
    ]  # summaries written by hand may lack the list
    mode = str(b_sum.get("mode"))
    drops = paired_drops(
        baseline.units,
        current.units,
        list(dict.fromkeys(systems)),
        criteria,
        overall=OVERALL_OF_MODE.get(mode, "pooled"),
        higher_is_better=metric != "mean_rank",
        margin=opts.max_drop,
        n_flips=opts.n_flips,
        seed=opts.seed,
    )
    b_ids = baseline.units["question_id"].nunique()
    c_ids = current.units["question_id"].nunique()
    if shared < max(b_ids, c_ids):
        notes.append(
            f"paired on the {shared:,} QA pairs both runs judged validly "
            f"(baseline {b_ids:,}, current {c_ids:,})"
        )
    return drops


def _paired_cell(paired: PairedDrops, criterion: str, system: str) -> PairedCell | None:
    if criterion == OVERALL:
        return paired.overall.get(system)
    return paired.per_criterion.get(criterion, {}).get(system)


def _draft(
    criterion: str,
    system: str,
    metric: str,
    b_entry: Mapping[str, Any] | None,
    c_entry: Mapping[str, Any] | None,
    missing: str,
    paired: PairedDrops | None,
    higher: bool,
    z: float,
    opts: GateOptions,
) -> dict[str, Any]:
    b_val = b_entry.get(metric) if b_entry else None
    c_val = c_entry.get(metric) if c_entry else None
    draft: dict[str, Any] = {
        "criterion": criterion,
        "system": system,
        "metric": metric,
        "baseline": b_val,
        "current": c_val,
        "drop": None,
        "ci": None,
        "p_raw": None,
        "p_adjusted": None,
        "se": None,
        "test": "",
        "n": None,
        "missing": missing,
        "status": "",
    }
    if b_entry is None:
        draft["status"] = "new"
        return draft
    if missing:
        draft["status"] = "missing"
        return draft
    if b_val is None:
        draft["status"] = "untested"
        draft["missing"] = "no valid judgment in the baseline"
        return draft
    if c_val is None:
        draft["status"] = "missing"
        draft["missing"] = "no valid judgment in the current run"
        return draft
    cell = _paired_cell(paired, criterion, system) if paired is not None else None
    if cell is not None and cell.n_clusters >= 2 and cell.drop is not None:
        draft.update(
            baseline=cell.baseline,
            current=cell.current,
            drop=cell.drop,
            se=cell.se,
            p_raw=cell.p,
            test="paired",
            n=cell.n_clusters,
        )
    else:
        delta = float(c_val) - float(b_val)
        drop = delta if not higher else -delta
        assert c_entry is not None and b_entry is not None
        se_b, se_c = _se(b_entry.get("ci"), z), _se(c_entry.get("ci"), z)
        draft.update(drop=drop, test="unpaired", n=_n_of(b_entry, c_entry))
        if se_b is None or se_c is None:
            draft["status"] = "untested"
            draft["missing"] = "no interval to test with"
            return draft
        draft["se"] = math.hypot(se_b, se_c)
        draft["p_raw"] = drop_p_value(drop, se_b, se_c, opts.max_drop)
    if draft["se"] is not None:
        half = _z(CI_LEVEL) * draft["se"]
        draft["ci"] = (draft["drop"] - half, draft["drop"] + half)
    return draft


def _n_of(b_entry: Mapping[str, Any], c_entry: Mapping[str, Any]) -> int | None:
    b_n, c_n = b_entry.get("n"), c_entry.get("n")
    return min(b_n, c_n) if isinstance(b_n, int) and isinstance(c_n, int) else None


def _finish(draft: dict[str, Any], opts: GateOptions, mde_factor: float) -> CheckRow:
    status, reason, decision = draft["status"], draft["missing"], "skip"
    if status == "new":
        reason = "not in the baseline"
    elif status == "missing":
        decision = "skip" if opts.allow_missing else "fail"
        reason += " (allowed by --allow-missing)" if opts.allow_missing else ""
    elif status == "untested":
        pass
    else:
        drop, p_adj = float(draft["drop"]), float(draft["p_adjusted"])
        if p_adj <= opts.alpha:
            decision, status = "fail", "fail"
            reason = f"drop significantly larger than {opts.max_drop:g}"
        else:
            decision = "pass"
            status = "same" if abs(drop) <= 1e-12 else ("drop" if drop > 0 else "up")
            reason = f"drop not significantly larger than {opts.max_drop:g}" if drop > 0 else ""
    return CheckRow(
        criterion=draft["criterion"],
        system=draft["system"],
        metric=draft["metric"],
        baseline=_num(draft["baseline"]),
        current=_num(draft["current"]),
        drop=_num(draft["drop"]),
        ci=draft["ci"],
        p_raw=_num(draft["p_raw"]),
        p_adjusted=_num(draft["p_adjusted"]),
        mde=(
            opts.max_drop + mde_factor * draft["se"]
            if draft["p_raw"] is not None and draft["se"] is not None
            else None
        ),
        decision=decision,
        reason=reason,
        test=draft["test"],
        n=draft["n"],
        status=status,
        se=_num(draft["se"]),
    )


def _num(x: Any) -> float | None:
    return None if x is None else float(x)


def compare_summaries(
    baseline: Mapping[str, Any],
    current: Mapping[str, Any],
    *,
    max_drop: float = 0.0,
    alpha: float = 0.05,
    **options: Any,
) -> CheckResult:
    """The unpaired gate on two summaries (:func:`check_runs` without judgments)."""
    opts = GateOptions(max_drop=max_drop, alpha=alpha, **options)
    return check_runs(GateRun(baseline), GateRun(current), opts)


def gate_units(summary: Mapping[str, Any], judgments: pd.DataFrame) -> pd.DataFrame:
    """The panel unit table of ``judgments`` scoped to ``summary`` (judges, systems, criteria)."""
    return panel_units(
        judgments,
        mode=str(summary.get("mode")),
        judges=list(summary.get("judges") or []),
        systems=list(summary.get("systems") or []),
        criteria=list(summary.get("criteria") or {}),
    )


def load_gate_run(path: str | Path) -> GateRun:
    """A run directory or a ``summary.json`` file, with the judgments beside it when present.

    :class:`fqeval.errors.DataError` names the file for anything unreadable.
    """
    path = Path(path)
    if path.is_dir():
        run = load_run(path)
        summary, judgments = run.summary, run.judgments
        where = path / JUDGMENTS
    else:
        summary = read_summary(path)
        where = path.parent / JUDGMENTS
        judgments = read_judgments(where) if where.is_file() else None
    if judgments is None:
        return GateRun(summary, None, str(path), f"no {where}")
    return GateRun(summary, gate_units(summary, judgments), str(path))


def pass_fail_line(result: CheckResult) -> str:
    """The one-line verdict the CLI prints last."""
    missing = [r for r in result.failures if r.status == "missing"]
    dropped = [r for r in result.failures if r.status == "fail"]
    if result.passed:
        return f"pass: no significant drop beyond {result.max_drop:g} ({result.family})"
    parts = []
    if dropped:
        parts.append(f"{len(dropped)} cell(s) dropped significantly more than {result.max_drop:g}")
    if missing:
        parts.append(f"{len(missing)} missing cell(s)")
    return f"fail: {'; '.join(parts)} ({result.family})"


__all__ = [
    "CELL_SCOPES",
    "CORRECTIONS",
    "OVERALL",
    "CheckResult",
    "CheckRow",
    "GateOptions",
    "GateRun",
    "check_runs",
    "compare_summaries",
    "drop_p_value",
    "gate_units",
    "load_gate_run",
    "pass_fail_line",
]
