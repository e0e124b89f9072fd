"""Calibration of the regression gate (``fqeval check``) and of the summary's 95% intervals.

Run from the repository root::

    python -m benchmarks.bench_gate                 # the default tables (~4-5 min, one core)
    python -m benchmarks.bench_gate --quick         # fewer simulations (~1.5 min), for a look
    python -m benchmarks.bench_gate --sims 1000 --power-sims 200 --coverage-sims 1000  # RESULTS.md

Every simulated run is drawn from a known truth: 200 QA pairs (30 for some coverage rows) x
the 5 FQ-Eval criteria x 5 systems, one judgment per item (n-way: the winner; score: a 1-5
score per system; pairwise, for coverage: win/tie/loss against the reference).

* **n-way truth.** Every criterion's true selection rates are 0.35, 0.25, 0.20, 0.15 and
  0.05 (``sys_e``, the rare cell). Each QA pair has a favourite (drawn from those rates); each
  item keeps it with probability 0.5 (criteria of a QA pair agree: a cluster effect) else
  draws its own; the judge picks the item's favourite with probability 0.7, else any system
  at the true rates. So every pick is marginally at the true rates, items differ, and two
  runs on the same items agree more than two runs on different items.
* **score truth.** Latent ``clip(round(m_s + u_q + e_qcs), 1, 5)`` with system means
  ``m = 3.8, 3.4, 3.0, 2.6, 1.4`` (``sys_e`` sits at the floor), a QA-pair effect ``u ~ N(0,
  0.5^2)`` shared by every criterion and system, an item effect ``e ~ N(0, 0.6^2)``; the judge
  reports the latent score with probability 0.75, else one point up or down (clipped). True
  means are computed exactly from the normal CDF.
* **pairwise truth** (coverage only). Win/tie probabilities per system ``(0.40, 0.20)``,
  ``(0.25, 0.20)``, ``(0.10, 0.10)``, ``(0.03, 0.04)``: win rates 0.50, 0.35, 0.15, 0.05;
  QA-pair outcome shared by its criteria with probability 0.5, judge noise 0.3.

Designs. *Same items*: both runs judge the same 200 QA pairs (the favourites / latent scores
are the items'; only the judge's draws are new), the normal CI case. *Independent samples*:
the current run judges 200 other QA pairs. A *drop* of ``d`` in a cell of ``final_fq`` is
applied to the current run's judge: n-way, a pick of ``final_fq`` goes to another system
(at the others' rates) with probability ``d / 0.35``; score, a score above 1 is lowered by one
point with probability ``d / P(score > 1)``. Both make the true drop exactly ``d``. "One cell":
``final_fq`` on Exploratory Scope (its overall drops ``d / 5``); "every criterion": all five
criteria of ``final_fq`` (its overall drops ``d``).

Code path. Each simulated run becomes the unit table the judgments would give and a summary
built by :func:`fqeval.analysis._estimates.grid_estimates` with the summary's settings (the
fields :func:`fqeval.analysis.summarize` writes: metric, ``ci``, ``n``; 1,000 resamples,
seed 42), and the pair goes through :func:`fqeval.reports._check.check_runs`, the function
``fqeval check`` calls after reading the runs. ``--e2e K`` (default 2) also writes ``K``
same-items pairs per mode as real run directories (``judgments.jsonl`` + ``summary.json`` from
``summarize``) and runs ``fqeval check --json`` on them, asserting the same p-values and
decisions as the in-memory path. A run pair *fails* when ``check`` would exit 1.

Coverage. For selection rate, mean score and win rate at n = 30 and 200 QA pairs,
independent runs; a cell's interval covers when it contains the true value. Shown for the
summary's interval (Wilson with a design effect) and, for comparison, the percentile
bootstrap it replaced (same resamples, per-criterion cells).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from benchmarks._machine import machine_markdown
from fqeval.analysis import judgments_frame, summarize
from fqeval.analysis._bootstrap import bootstrap_totals, percentile_interval, safe_ratio
from fqeval.analysis._estimates import grid_estimates
from fqeval.analysis._summary import METRIC_OF_MODE, OVERALL_OF_MODE, _est_fields
from fqeval.data._records import CRITERIA_ORDER
from fqeval.reports._check import GateOptions, GateRun, check_runs

SYSTEMS: tuple[str, ...] = ("final_fq", "sys_b", "sys_c", "sys_d", "sys_e")
CRITERIA: tuple[str, ...] = CRITERIA_ORDER
N_QA = 200
N_BOOT = 1000
BOOT_SEED = 42
MAX_DROPS: tuple[float, ...] = (0.0, 0.05, 0.1)

NWAY_RATES = np.asarray([0.35, 0.25, 0.20, 0.15, 0.05])
NWAY_SHARED, NWAY_NOISE = 0.5, 0.3
SCORE_MEANS = np.asarray([3.8, 3.4, 3.0, 2.6, 1.4])
SCORE_SD_QA, SCORE_SD_ITEM, SCORE_NOISE = 0.5, 0.6, 0.25
PAIR_SYSTEMS: tuple[str, ...] = SYSTEMS[1:]
PAIR_PROBS = np.asarray([[0.40, 0.20], [0.25, 0.20], [0.10, 0.10], [0.03, 0.04]])  # win, tie
PAIR_SHARED, PAIR_NOISE = 0.5, 0.3


# -- truths -----------------------------------------------------------------------------------


def score_level_probs(mean: float) -> NDArray[np.float64]:
    """P(latent = k), k = 1..5, for ``clip(round(N(mean, sd^2)), 1, 5)``."""
    sd = math.hypot(SCORE_SD_QA, SCORE_SD_ITEM)
    cuts = stats.norm.cdf((np.asarray([1.5, 2.5, 3.5, 4.5]) - mean) / sd)
    return np.diff(np.concatenate([[0.0], cuts, [1.0]]))


def score_truth(mean: float) -> tuple[float, float]:
    """(true mean judged score, P(judged score > 1)) for a system of latent mean ``mean``."""
    levels = np.arange(1, 6)
    up, down = np.minimum(levels + 1, 5), np.maximum(levels - 1, 1)
    judged = (1 - SCORE_NOISE) * levels + SCORE_NOISE / 2 * (up + down)
    above_one = np.where(
        levels == 1, SCORE_NOISE / 2, np.where(levels == 2, 1 - SCORE_NOISE / 2, 1.0)
    )
    probs = score_level_probs(mean)
    return float(probs @ judged), float(probs @ above_one)


def true_values(mode: str) -> NDArray[np.float64]:
    """True value of every system's metric (the same for every criterion and overall)."""
    if mode == "nway":
        return NWAY_RATES.copy()
    if mode == "score":
        return np.asarray([score_truth(m)[0] for m in SCORE_MEANS])
    return PAIR_PROBS[:, 0] + PAIR_PROBS[:, 1] / 2


# -- simulation -------------------------------------------------------------------------------


@dataclass
class Items:
    """The items' own state (what two runs on the same QA pairs share)."""

    mode: str
    qids: list[str]
    state: NDArray[Any]  # nway: favourites (Q, C); score: latent (Q, C, S); pairwise: (Q, C, S)


def _categorical(rng: np.random.Generator, probs: NDArray[np.float64], size: Any) -> NDArray[Any]:
    return rng.choice(len(probs), size=size, p=probs / probs.sum())


def draw_items(mode: str, n_qa: int, rng: np.random.Generator, prefix: str = "q") -> Items:
    qids = [f"{prefix}{k:04d}" for k in range(n_qa)]
    n_crit, n_sys = len(CRITERIA), len(SYSTEMS)
    if mode == "nway":
        qa_fav = _categorical(rng, NWAY_RATES, n_qa)
        own = _categorical(rng, NWAY_RATES, (n_qa, n_crit))
        keep = rng.random((n_qa, n_crit)) < NWAY_SHARED
        return Items(mode, qids, np.where(keep, qa_fav[:, None], own))
    if mode == "score":
        latent = (
            SCORE_MEANS[None, None, :]
            + rng.normal(0, SCORE_SD_QA, (n_qa, 1, 1))
            + rng.normal(0, SCORE_SD_ITEM, (n_qa, n_crit, n_sys))
        )
        return Items(mode, qids, np.clip(np.rint(latent), 1, 5))
    n_pair = len(PAIR_SYSTEMS)
    probs = np.column_stack([PAIR_PROBS, 1 - PAIR_PROBS.sum(axis=1)])  # win, tie, loss
    qa = np.stack([_categorical(rng, probs[s], n_qa) for s in range(n_pair)], axis=-1)
    own = np.stack([_categorical(rng, probs[s], (n_qa, n_crit)) for s in range(n_pair)], axis=-1)
    keep = rng.random((n_qa, n_crit, n_pair)) < PAIR_SHARED
    return Items(mode, qids, np.where(keep, qa[:, None, :], own))


def judge_items(
    items: Items, rng: np.random.Generator, drop: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """One run's unit values ``(Q, C, S)``; ``drop[c, s]`` is the true drop applied."""
    n_qa, n_crit = len(items.qids), len(CRITERIA)
    if items.mode == "nway":
        fresh = _categorical(rng, NWAY_RATES, (n_qa, n_crit))
        pick = np.where(rng.random((n_qa, n_crit)) < 1 - NWAY_NOISE, items.state, fresh)
        if drop is not None:
            for c, s in zip(*np.nonzero(drop), strict=True):
                others = NWAY_RATES.copy()
                others[s] = 0.0
                moved = (pick[:, c] == s) & (rng.random(n_qa) < drop[c, s] / NWAY_RATES[s])
                pick[moved, c] = _categorical(rng, others, int(moved.sum()))
        return np.eye(len(SYSTEMS))[pick]
    if items.mode == "score":
        noise = rng.choice(
            [-1.0, 0.0, 1.0],
            size=items.state.shape,
            p=[SCORE_NOISE / 2, 1 - SCORE_NOISE, SCORE_NOISE / 2],
        )
        judged = np.clip(items.state + noise, 1, 5)
        if drop is not None:
            rho = np.zeros_like(drop)
            for s, mean in enumerate(SCORE_MEANS):
                rho[:, s] = drop[:, s] / score_truth(mean)[1]
            lowered = (judged > 1) & (rng.random(judged.shape) < rho[None, :, :])
            judged = judged - lowered
        return judged
    probs = np.column_stack([PAIR_PROBS, 1 - PAIR_PROBS.sum(axis=1)])
    fresh = np.stack(
        [_categorical(rng, probs[s], (n_qa, n_crit)) for s in range(len(PAIR_SYSTEMS))], axis=-1
    )
    outcome = np.where(rng.random(items.state.shape) < 1 - PAIR_NOISE, items.state, fresh)
    return np.asarray([1.0, 0.5, 0.0])[outcome]


def unit_table(items: Items, values: NDArray[np.float64]) -> pd.DataFrame:
    """The panel unit table the run's judgments give (question_id, criterion, system, value)."""
    systems = PAIR_SYSTEMS if items.mode == "pairwise" else SYSTEMS
    n_qa, n_crit, n_sys = values.shape
    return pd.DataFrame(
        {
            "question_id": np.repeat(np.asarray(items.qids, dtype=object), n_crit * n_sys),
            "criterion": np.tile(np.repeat(np.asarray(CRITERIA, dtype=object), n_sys), n_qa),
            "system": np.tile(np.asarray(systems, dtype=object), n_qa * n_crit),
            "value": values.reshape(-1),
        }
    )


def bench_summary(units: pd.DataFrame, mode: str) -> dict[str, Any]:
    """The summary fields ``check`` reads, built as :func:`summarize` builds them."""
    systems = list(PAIR_SYSTEMS if mode == "pairwise" else SYSTEMS)
    metric = METRIC_OF_MODE[mode]
    grid = grid_estimates(
        units, systems, list(CRITERIA), overall=OVERALL_OF_MODE[mode], n_boot=N_BOOT, seed=BOOT_SEED
    )
    return {
        "schema_version": 1,
        "mode": mode,
        "metric": metric,
        "higher_is_better": True,
        "judges": ["sim"],
        "systems": systems,
        "ci_level": 0.95,
        "criteria": {
            c: {"systems": {s: _est_fields(metric, grid.per_criterion[c][s]) for s in systems}}
            for c in CRITERIA
        },
        "overall": {"systems": {s: _est_fields(metric, grid.overall[s]) for s in systems}},
    }


def simulated_run(items: Items, values: NDArray[np.float64]) -> GateRun:
    units = unit_table(items, values)
    return GateRun(bench_summary(units, items.mode), units, "simulated")


# -- the gate ---------------------------------------------------------------------------------


@dataclass
class Tally:
    runs: int = 0
    fails: int = 0
    mde: list[float] = field(default_factory=list)

    def add(self, failed: bool, mde: float | None = None) -> None:
        self.runs += 1
        self.fails += int(failed)
        if mde is not None:
            self.mde.append(mde)

    def rate(self) -> str:
        if not self.runs:
            return "-"
        low, high = wilson(self.fails, self.runs)
        return f"{self.fails / self.runs:.1%} [{low:.1%}, {high:.1%}]"


def wilson(k: int, n: int) -> tuple[float, float]:
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
    return float(ci.low), float(ci.high)


def drop_matrix(scenario: str, size: float) -> NDArray[np.float64]:
    drop = np.zeros((len(CRITERIA), len(SYSTEMS)))
    if scenario == "one cell":
        drop[0, 0] = size
    else:
        drop[:, 0] = size
    return drop


def target_mde(result: Any, scenario: str) -> float | None:
    criterion = CRITERIA[0] if scenario == "one cell" else "Overall"
    row = next(r for r in result.rows if r.criterion == criterion and r.system == SYSTEMS[0])
    return row.mde


def false_alarms(mode: str, sims: int, seed: int) -> dict[tuple[str, str, float], Tally]:
    tallies: dict[tuple[str, str, float], Tally] = {}
    rng = np.random.default_rng(seed)
    for _ in range(sims):
        items = draw_items(mode, N_QA, rng)
        base = simulated_run(items, judge_items(items, rng))
        same = simulated_run(items, judge_items(items, rng))
        other_items = draw_items(mode, N_QA, rng, prefix="x")
        other = simulated_run(other_items, judge_items(other_items, rng))
        for max_drop in MAX_DROPS:
            for design, test, run, paired in (
                ("same items", "paired", same, True),
                ("same items", "unpaired", same, False),
                ("independent samples", "unpaired (automatic)", other, True),
            ):
                result = check_runs(base, run, GateOptions(max_drop=max_drop, paired=paired))
                tallies.setdefault((design, test, max_drop), Tally()).add(not result.passed)
    return tallies


POWER_SCENARIOS: tuple[tuple[str, float], ...] = (
    ("one cell", 0.05),
    ("one cell", 0.1),
    ("every criterion", 0.05),
    ("every criterion", 0.1),
)


def power(mode: str, sims: int, seed: int) -> dict[tuple[str, float, str], Tally]:
    tallies: dict[tuple[str, float, str], Tally] = {}
    rng = np.random.default_rng(seed)
    for scenario, size in POWER_SCENARIOS:
        for _ in range(sims):
            items = draw_items(mode, N_QA, rng)
            base = simulated_run(items, judge_items(items, rng))
            cur = simulated_run(items, judge_items(items, rng, drop_matrix(scenario, size)))
            for test, paired in (("paired", True), ("unpaired", False)):
                result = check_runs(base, cur, GateOptions(paired=paired))
                tallies.setdefault((scenario, size, test), Tally()).add(
                    not result.passed, target_mde(result, scenario)
                )
    return tallies


# -- end to end through the CLI ---------------------------------------------------------------


def judgment_records(items: Items, values: NDArray[np.float64]) -> list[dict[str, Any]]:
    """``judgments.jsonl`` records that give exactly ``values`` (n-way and score)."""
    shown = [
        {"label": f"candidate_{chr(65 + k)}", "system": s, "systems": [s], "text": f"{s}?"}
        for k, s in enumerate(SYSTEMS)
    ]
    records: list[dict[str, Any]] = []
    for q, qid in enumerate(items.qids):
        for c, criterion in enumerate(CRITERIA):
            common = {"question_id": qid, "criterion": criterion, "mode": items.mode,
                      "judge": "sim", "valid": True}  # fmt: skip
            if items.mode == "nway":
                k = int(np.argmax(values[q, c]))
                records.append({**common, "variant": "p0", "shown": shown,
                                "winner_label": shown[k]["label"], "winner_slot": k,
                                "winner_systems": [SYSTEMS[k]], "winner_system": SYSTEMS[k]})  # fmt: skip
            else:
                for s, system in enumerate(SYSTEMS):
                    records.append({**common, "variant": system, "shown": [shown[s]],
                                    "score": int(values[q, c, s])})  # fmt: skip
    return records


def write_run_dir(path: Path, items: Items, values: NDArray[np.float64]) -> None:
    records = judgment_records(items, values)
    path.mkdir(parents=True)
    with (path / "judgments.jsonl").open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    summary = summarize(
        judgments_frame(records), mode=items.mode, judges=["sim"], systems=list(SYSTEMS),
        criteria=list(CRITERIA), seed=BOOT_SEED, n_boot=N_BOOT,
    )  # fmt: skip
    (path / "summary.json").write_text(json.dumps(summary), encoding="utf-8")


def end_to_end(mode: str, pairs: int, seed: int) -> int:
    """Run ``fqeval check --json`` on real run directories; assert it equals the fast path."""
    import contextlib
    import io

    from fqeval.cli._app import run_app

    rng = np.random.default_rng(seed)
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(pairs):
            items = draw_items(mode, N_QA, rng)
            base_values = judge_items(items, rng)
            cur_values = judge_items(items, rng, drop_matrix("every criterion", 0.05 * (k % 3)))
            base_dir, cur_dir = Path(tmp) / f"{mode}{k}-base", Path(tmp) / f"{mode}{k}-cur"
            write_run_dir(base_dir, items, base_values)
            write_run_dir(cur_dir, items, cur_values)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = run_app(["check", str(base_dir), str(cur_dir), "--json"])
            cli = json.loads(out.getvalue())
            fast = check_runs(simulated_run(items, base_values), simulated_run(items, cur_values))
            assert code == (0 if fast.passed else 1), (code, fast.passed)
            assert cli["test"] == "paired" and cli["family"]["size"] == fast.family_size
            for row, mine in zip(cli["rows"], fast.rows, strict=True):
                assert (row["criterion"], row["system"]) == (mine.criterion, mine.system)
                assert row["decision"] == mine.decision
                assert math.isclose(row["p_raw"], mine.p_raw or 0.0, rel_tol=1e-9, abs_tol=1e-12)
            checked += 1
    return checked


# -- coverage ---------------------------------------------------------------------------------


@dataclass
class Coverage:
    covered: int = 0
    total: int = 0

    def add(self, hits: NDArray[np.bool_]) -> None:
        self.covered += int(hits.sum())
        self.total += int(hits.size)

    def text(self) -> str:
        return f"{self.covered / self.total:.1%}" if self.total else "-"


def percentile_cells(units: pd.DataFrame, systems: Sequence[str]) -> NDArray[np.float64]:
    """The replaced method: percentile intervals of the same resamples, per-criterion cells."""
    data = units
    clusters = sorted(data["question_id"].unique())
    cl = pd.Index(clusters).get_indexer(data["question_id"])
    ci = data["criterion"].map({c: k for k, c in enumerate(CRITERIA)}).to_numpy(dtype=np.int64)
    si = data["system"].map({s: k for k, s in enumerate(systems)}).to_numpy(dtype=np.int64)
    num = np.zeros((len(clusters), len(CRITERIA), len(systems)))
    den = np.zeros_like(num)
    np.add.at(num, (cl, ci, si), data["value"].to_numpy(dtype=np.float64))
    np.add.at(den, (cl, ci, si), 1.0)
    b_num, b_den = bootstrap_totals([num, den], n_boot=N_BOOT, seed=BOOT_SEED)
    low, high = percentile_interval(safe_ratio(b_num, b_den))
    return np.stack([low, high])


def coverage(mode: str, n_qa: int, sims: int, seed: int) -> dict[str, Any]:
    truth = true_values(mode)
    systems = list(PAIR_SYSTEMS if mode == "pairwise" else SYSTEMS)
    rare = len(systems) - 1  # the last system is the rare (or floor) one
    out: dict[str, Any] = {
        k: Coverage() for k in ("cells", "rare", "overall", "old cells", "old rare")
    }
    per_cell = np.zeros((len(CRITERIA), len(systems)))
    rng = np.random.default_rng(seed)
    for _ in range(sims):
        items = draw_items(mode, n_qa, rng)
        units = unit_table(items, judge_items(items, rng))
        grid = grid_estimates(
            units, systems, list(CRITERIA), overall=OVERALL_OF_MODE[mode], n_boot=N_BOOT,
            seed=BOOT_SEED,
        )  # fmt: skip
        hits = np.zeros((len(CRITERIA), len(systems)), dtype=bool)
        for c, criterion in enumerate(CRITERIA):
            for s, system in enumerate(systems):
                est = grid.per_criterion[criterion][system]
                hits[c, s] = est.ci is not None and est.ci[0] <= truth[s] <= est.ci[1]
        per_cell += hits
        out["cells"].add(np.delete(hits, rare, axis=1))
        out["rare"].add(hits[:, rare])
        over = np.asarray(
            [
                (e.ci is not None and e.ci[0] <= truth[s] <= e.ci[1])
                for s, e in enumerate(grid.overall[x] for x in systems)
            ]
        )
        out["overall"].add(over)
        old = percentile_cells(units, systems)
        old_hits = (old[0] <= truth[None, :]) & (truth[None, :] <= old[1])
        out["old cells"].add(np.delete(old_hits, rare, axis=1))
        out["old rare"].add(old_hits[:, rare])
    # Criteria are exchangeable in these truths: a system's 5 cells pool into one figure.
    by_system = per_cell.sum(axis=0) / (sims * len(CRITERIA))
    out["by system"] = f"{by_system.min():.1%}-{by_system.max():.1%}"
    return out


# -- report -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer simulations (~1 min)")
    parser.add_argument("--sims", type=int, help="same-truth run pairs per mode (default 150)")
    parser.add_argument("--power-sims", type=int, help="run pairs per drop scenario (default 40)")
    parser.add_argument("--coverage-sims", type=int, help="runs per coverage row (default 150)")
    parser.add_argument("--e2e", type=int, help="run-directory pairs through the CLI per mode (2)")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--parts", default="gate,power,coverage,e2e")
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    args = parser.parse_args(argv)
    sims = args.sims or (40 if args.quick else 150)
    power_sims = args.power_sims or (15 if args.quick else 40)
    coverage_sims = args.coverage_sims or (40 if args.quick else 150)
    e2e = args.e2e if args.e2e is not None else (1 if args.quick else 2)
    parts = set(args.parts.split(","))
    started = time.perf_counter()
    rerun = (
        f"python -m benchmarks.bench_gate --sims {sims} --power-sims {power_sims} "
        f"--coverage-sims {coverage_sims} --e2e {e2e} --seed {args.seed}"
    )
    lines: list[str] = ["# Regression gate and interval calibration", "", machine_markdown(), "",
                        f"Rerun: `{rerun}`", ""]  # fmt: skip

    if "gate" in parts:
        lines += [
            f"## False alarms: same truth, {N_QA} QA pairs x 5 criteria x 5 systems (30 cells), "
            f"Holm at alpha 0.05 ({sims} run pairs per mode; rate [95% CI])",
            "",
            "| mode | design | test | "
            + " | ".join(f"`--max-drop {d:g}`" for d in MAX_DROPS)
            + " |",
            "|---|---|---|" + "---:|" * len(MAX_DROPS),
        ]
        for k, mode in enumerate(("nway", "score")):
            tallies = false_alarms(mode, sims, args.seed + k)
            for design, test in (("same items", "paired"), ("same items", "unpaired"),
                                 ("independent samples", "unpaired (automatic)")):  # fmt: skip
                cells = " | ".join(tallies[(design, test, d)].rate() for d in MAX_DROPS)
                lines.append(f"| {mode} | {design} | {test} | {cells} |")
        lines += ["", "Target: <= 5% of same-truth run pairs fail, paired and unpaired.", ""]

    if "power" in parts:
        lines += [
            f"## Power: a true drop in `final_fq`, same items, `--max-drop 0` ({power_sims} run "
            "pairs per row; rate of failing run pairs [95% CI], median MDE of the dropped cell)",
            "",
            "| mode | true drop | where | paired: fails | paired: MDE | unpaired: fails | unpaired: MDE |",
            "|---|---:|---|---:|---:|---:|---:|",
        ]
        for k, mode in enumerate(("nway", "score")):
            tallies = power(mode, power_sims, args.seed + 10 + k)
            for scenario, size in POWER_SCENARIOS:
                where = (
                    f"{CRITERIA[0]} only (overall -{size / 5:g})"
                    if scenario == "one cell"
                    else "every criterion (overall -" + f"{size:g})"
                )
                paired, unpaired = (
                    tallies[(scenario, size, "paired")],
                    tallies[(scenario, size, "unpaired")],
                )
                lines.append(
                    f"| {mode} | {size:g} | {where} | {paired.rate()} | "
                    f"{np.median(paired.mde):.3f} | {unpaired.rate()} | {np.median(unpaired.mde):.3f} |"
                )
        lines += [
            "",
            "Target: >= 90% of run pairs fail for a 0.1 drop in a system's overall selection "
            "rate or mean score on the same items (the 'every criterion' rows at 0.1). The MDE "
            "is the gate's own estimate, printed per cell by `fqeval check`: the true drop it "
            "detects with 80% power at alpha/30.",
            "",
        ]

    if "coverage" in parts:
        lines += [
            f"## Coverage of the summary's 95% intervals ({coverage_sims} independent runs per row)",
            "",
            "Wilson interval with a design effect (what `summary.json` reports now) against the "
            "percentile bootstrap it replaced, same resamples (1,000, QA pairs as clusters). "
            "'cells': every criterion x system cell but the rare one, pooled; 'rare': the "
            "p = 0.05 system (scores: the system at the floor, mean 1.4 latent); 'by system': "
            "the range of the systems' coverage, each pooled over its 5 criteria (a system's "
            "criteria share one true value, so its cells are alike; the Monte-Carlo error of "
            f"one system's figure is about +-{200 * math.sqrt(0.0475 / (5 * coverage_sims)):.1f} "
            "points at 95%).",
            "",
            "| metric | QA pairs | cells | rare cell | overall | by system | percentile: cells | percentile: rare |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for k, (mode, metric) in enumerate(
            (("nway", "selection rate"), ("score", "mean score"), ("pairwise", "win rate"))
        ):
            for n_qa in (30, 200):
                cov = coverage(mode, n_qa, coverage_sims, args.seed + 20 + 2 * k + n_qa)
                lines.append(
                    f"| {metric} | {n_qa} | {cov['cells'].text()} | {cov['rare'].text()} | "
                    f"{cov['overall'].text()} | {cov['by system']} | "
                    f"{cov['old cells'].text()} | {cov['old rare'].text()} |"
                )
        lines += ["", "Target: 93-97% for every cell at n >= 30.", ""]

    if "e2e" in parts and e2e:
        checked = sum(
            end_to_end(mode, e2e, args.seed + 40 + k) for k, mode in enumerate(("nway", "score"))
        )
        lines += [
            f"End to end: {checked} run-directory pairs through `fqeval check --json` gave the "
            "same decisions and p-values as the in-memory path.",
            "",
        ]
    lines.append(f"Wall time: {time.perf_counter() - started:.0f} s.")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
