"""The report as a neutral document (sections of paragraphs, tables and figures).

One builder decides what a report says; :mod:`fqeval.reports._markdown` and
:mod:`fqeval.reports._html` only decide how it looks and how text is escaped. All text in a
:class:`Document` is raw (unescaped); figures carry SVG that :mod:`fqeval.reports._svg`
already escaped and are shown only in HTML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fqeval.reports import _svg
from fqeval.reports._format import format_p_value, num
from fqeval.reports._leaderboard import (
    Leaderboard,
    build_leaderboard,
    format_ci,
    format_value,
    metric_label,
)
from fqeval.reports._provenance import provenance_rows

Summary = Mapping[str, Any]


@dataclass(frozen=True)
class TCell:
    """A table cell: main ``text``, an optional secondary ``sub`` (an interval), ``strong`` = best."""

    text: str
    sub: str = ""
    strong: bool = False


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[TCell]]


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Figure:
    svg: str  # already-escaped SVG markup
    caption: str


@dataclass(frozen=True)
class Heading:
    """A sub-heading inside a section: one run's part of a merged report."""

    text: str


Block = Paragraph | Table | Figure | Heading


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Document:
    title: str
    intro: list[Block]
    sections: list[Section]


@dataclass(frozen=True)
class ReportRun:
    """One run of a report: its name, summary, manifest and a few judgment records."""

    label: str
    summary: Summary
    manifest: Mapping[str, Any] | None = None
    examples: Sequence[Mapping[str, Any]] = ()


@dataclass
class _Part:
    """One run's contribution to a section. ``key`` matches the same section across runs;
    ``title`` heads it in a one-run report, ``group`` (default ``title``) in a merged one,
    where ``detail`` follows the run's name."""

    key: str
    title: str
    blocks: list[Block]
    group: str = ""
    detail: str = ""


def _c(text: object) -> TCell:
    return TCell(str(text))


def leaderboard_table(board: Leaderboard) -> Table:
    header = ["system", *[c.title for c in board.columns]]
    rows = []
    for system in board.systems:
        cells = [_c(system)]
        for col, cell in zip(board.columns, board.cells[system], strict=True):
            cells.append(
                TCell(
                    format_value(col.metric, cell.value), format_ci(col.metric, cell.ci), cell.best
                )
            )
        rows.append(cells)
    return Table(header, rows)


def _panel_part(summary: Summary) -> _Part | None:
    judges = list(summary.get("judges", []))
    if len(judges) < 2:
        return None
    metric = str(summary.get("metric"))
    panel = summary.get("panel") or {}
    section = _Part("panel", "Panel", [])
    section.blocks.append(
        Paragraph(f"{len(judges)} judges; panel aggregate: {panel.get('method', '')}.")
    )
    tied = panel.get("tied_items")
    if tied:
        section.blocks.append(
            Paragraph(
                "Tied items (the panel vote split equally): "
                + ", ".join(f"{c} {n}" for c, n in tied.items())
                + "."
            )
        )
    overall = summary.get("overall", {})
    rows = []
    for system in summary.get("systems", []):
        row = [_c(system)]
        for judge in judges:
            entry = overall.get("by_judge", {}).get(judge, {}).get("systems", {}).get(system, {})
            row.append(
                TCell(format_value(metric, entry.get(metric)), format_ci(metric, entry.get("ci")))
            )
        entry = overall.get("systems", {}).get(system, {})
        row.append(
            TCell(format_value(metric, entry.get(metric)), format_ci(metric, entry.get("ci")))
        )
        rows.append(row)
    section.blocks.append(Paragraph(f"Overall {metric_label(metric)} per judge and for the panel:"))
    section.blocks.append(Table(["system", *judges, "panel"], rows))
    return section


def _p_stat(*path: str) -> Any:
    def get(o: Mapping[str, Any]) -> TCell:
        value: Any = o
        for key in path:
            value = (value or {}).get(key)
        return _c(format_p_value(value))

    return get


def _pearson_cell(o: Mapping[str, Any]) -> TCell:
    pr = o.get("pearson", {})
    ci = pr.get("ci")
    return TCell(num(pr.get("r")), f"[{num(ci[0])}, {num(ci[1])}]" if ci else "")


def _stat(*path: str) -> Any:
    def get(o: Mapping[str, Any]) -> TCell:
        value: Any = o
        for key in path:
            value = (value or {}).get(key)
        return _c(num(value))

    return get


#: Agreement table columns per kind: (header, cell from a pair's ``overall`` block).
_AGREEMENT_COLUMNS: dict[str, list[tuple[str, Any]]] = {
    "score": [
        ("Pearson r [95% CI]", _pearson_cell),
        ("p", _p_stat("pearson", "p")),
        ("Spearman ρ", _stat("spearman", "rho")),
        ("Kendall τb", _stat("kendall", "tau")),
        ("exact", _stat("exact_agreement")),
        ("adjacent (±1)", _stat("adjacent_agreement")),
        ("κ quadratic", _stat("cohen_kappa_quadratic")),
        ("α ordinal", _stat("krippendorff_alpha_ordinal")),
    ],
    "nway": [
        ("same winner", _stat("same_winner")),
        ("Cohen κ", _stat("cohen_kappa")),
        ("Fleiss κ", _stat("fleiss_kappa")),
    ],
    "pairwise": [
        ("same outcome", _stat("same_outcome")),
        ("Cohen κ", _stat("cohen_kappa")),
        ("κ quadratic", _stat("cohen_kappa_quadratic")),
    ],
}


def agreement_section(agreement: Mapping[str, Any] | None) -> Section | None:
    """Judge agreement (pooled over criteria), judge pairs and judges vs human labels."""
    if not agreement or not (agreement.get("pairs") or agreement.get("human")):
        return None
    kind = str(agreement.get("kind", "score"))
    columns = _AGREEMENT_COLUMNS[kind]
    section = Section("Judge agreement")
    rows = []
    for pair in [*agreement.get("pairs", []), *agreement.get("human", [])]:
        o = pair.get("overall", {})
        rows.append(
            [_c(f"{pair['a']} vs {pair['b']}"), _c(o.get("n", 0)), *[get(o) for _, get in columns]]
        )
    section.blocks.append(Table(["pair", "n", *[h for h, _ in columns]], rows))
    pairs = agreement.get("pairs", [])
    notes = sorted({p["overall"]["note"] for p in pairs if p.get("overall", {}).get("note")})
    for note in notes:
        section.blocks.append(Paragraph(f"Note: {note}."))
    panel = agreement.get("panel") or {}
    if panel:
        parts = []
        if kind != "score":
            parts.append(f"Fleiss κ {num(panel.get('fleiss_kappa'))}")
        parts.append(
            f"Krippendorff α ({panel.get('level', '')}) {num(panel.get('krippendorff_alpha'))}"
        )
        section.blocks.append(
            Paragraph(
                f"All {panel.get('raters', '')} judges together: "
                + ", ".join(parts)
                + f" over {panel.get('n', 0)} units."
            )
        )
    return section


def _mode_parts(summary: Summary) -> list[_Part]:
    mode = summary.get("mode")
    systems = list(summary.get("systems", []))
    overall = summary.get("overall", {}).get("systems", {})
    sections: list[_Part] = []
    if mode == "score":
        section = _Part("score", "Score distribution", [])
        rows = []
        for s in systems:
            dist = overall.get(s, {}).get("distribution") or {}
            rows.append([_c(s), *[_c(dist.get(str(k), 0)) for k in range(1, 6)]])
        section.blocks.append(Table(["system", "1", "2", "3", "4", "5"], rows))
        section.blocks.append(
            Figure(
                _svg.score_distribution_chart(
                    systems, {s: overall.get(s, {}).get("distribution") or {} for s in systems}
                ),
                "Share of each score per system, all criteria.",
            )
        )
        if any(overall.get(s, {}).get("mean_expected_score") is not None for s in systems):
            section.blocks.append(
                Paragraph(
                    "Expected score from logprobs (all criteria): "
                    + ", ".join(
                        f"{s} {format_value('mean_score', overall.get(s, {}).get('mean_expected_score'))}"
                        for s in systems
                    )
                    + "."
                )
            )
        sections.append(section)
    elif mode == "pairwise":
        ref = summary.get("reference") or "the reference"
        section = _Part(
            "pairwise",
            f"Pairwise against {ref}",
            [],
            "Pairwise against the reference",
            f"against {ref}",
        )
        section.blocks.append(
            Paragraph(
                "Win: the system was picked in both presentation orders; loss: the reference was; otherwise a tie (counted as half). Pairs with an invalid order are left out and counted."
            )
        )
        rows = [
            [
                _c(s),
                *[
                    _c(overall.get(s, {}).get(k, 0))
                    for k in ("wins", "ties", "losses", "invalid_pairs")
                ],
                _c(num(overall.get(s, {}).get("swap_consistency"))),
            ]
            for s in systems
        ]
        section.blocks.append(
            Table(["system", "wins", "ties", "losses", "invalid pairs", "swap consistency"], rows)
        )
        sections.append(section)
    elif mode == "rank":
        section = _Part("rank", "First place", [])
        rows = [
            [_c(s), _c(format_value("win_rate", overall.get(s, {}).get("first_rate")))]
            for s in systems
        ]
        section.blocks.append(Table(["system", "ranked first"], rows))
        sections.append(section)
    return sections


def _ranking_section(runs: Sequence[tuple[str, Summary]]) -> Section | None:
    """MRR/NDCG of the benchmark follow-up, one row per ordering (and run, when several)."""
    rows = []
    relevant, note = "final_fq", ""
    for run_label, summary in runs:
        ranking = summary.get("ranking") or {}
        relevant = ranking.get("relevant", relevant)
        note = ranking.get("note", note)
        for name, o in (ranking.get("orderings") or {}).items():
            rows.append(
                [
                    _c(f"{name} ({run_label})" if len(runs) > 1 else name),
                    _c(num(o.get("mrr"))),
                    _c(num(o.get("ndcg"))),
                    _c(num(o.get("mean_rank_of_relevant"), 2)),
                    _c(
                        f"{num(o.get('mrr_ties_pessimistic'))} to {num(o.get('mrr_ties_optimistic'))}"
                    ),
                    _c(o.get("queries", 0)),
                ]
            )
    if not rows:
        return None
    section = Section(f"Where the benchmark follow-up lands ({relevant} as the only relevant item)")
    header = ["ordering", "MRR", "NDCG", "mean rank", "MRR if ties broken against/for it", "items"]
    section.blocks.append(Table(header, rows))
    if note:
        section.blocks.append(Paragraph(str(note)))
    return section


def _bias_part(summary: Summary) -> _Part:
    section = _Part("bias", "Bias diagnostics", [])
    pos = summary.get("position_bias") or {}
    if pos.get("applicable"):
        rows = []
        for judge, per_k in (pos.get("by_judge") or {}).items():
            for k, entry in per_k.items():
                rates = ", ".join(format_value("win_rate", r) for r in entry.get("rates", []))
                rows.append(
                    [
                        _c(judge),
                        _c(k),
                        _c(entry.get("n")),
                        _c(rates),
                        _c(num(entry.get("chi2"))),
                        _c(format_p_value(entry.get("p"))),
                    ]
                )
        if rows:
            section.blocks.append(
                Paragraph(
                    "Position: share of picks per display slot; chi-square goodness-of-fit test against uniform (a small p means the judge favours a slot)."
                )
            )
            section.blocks.append(Table(["judge", "slots", "n", "rate per slot", "χ²", "p"], rows))
            section.blocks.append(
                Figure(
                    _svg.position_chart(pos.get("by_judge") or {}),
                    "Share of picks per display slot; the dashed line is the uniform share.",
                )
            )
    length = summary.get("length_bias") or {}
    if length:
        pr, sp = length.get("pearson") or {}, length.get("spearman") or {}
        text = (
            f"Length: correlation of {length.get('outcome', 'outcome')} with the follow-up's length in words over "
            f"{length.get('n', 0)} rows: Pearson r {num(pr.get('r'))} (p {format_p_value(pr.get('p'))}), "
            f"Spearman ρ {num(sp.get('rho'))} (p {format_p_value(sp.get('p'))})."
        )
        if length.get("note"):
            text += f" {length['note']}."
        section.blocks.append(Paragraph(text))
    if not section.blocks:
        section.blocks.append(Paragraph("No position or length diagnostics in this run."))
    return section


def _invalid_part(summary: Summary) -> _Part:
    inv = summary.get("invalid") or {}
    section = _Part("invalid", "Invalid judgments", [])
    rate = inv.get("rate")
    section.blocks.append(
        Paragraph(
            f"{inv.get('invalid', 0)} of {inv.get('judgments', 0)} judgments invalid"
            + (f" ({100 * rate:.1f}%)" if rate is not None else "")
            + f"; {summary.get('overall', {}).get('items_without_valid', 0)} items without any valid judgment."
        )
    )
    rows = [
        [
            _c(c),
            _c(b.get("judgments", 0)),
            _c(b.get("invalid", 0)),
            _c(b.get("items_without_valid", 0)),
            _c(b.get("shared_text_items", 0)),
        ]
        for c, b in summary.get("criteria", {}).items()
    ]
    if rows:
        section.blocks.append(
            Table(
                [
                    "criterion",
                    "judgments",
                    "invalid",
                    "items without valid",
                    "items with shared texts",
                ],
                rows,
            )
        )
    by_judge = inv.get("by_judge") or {}
    if len(by_judge) > 1:
        section.blocks.append(
            Table(
                ["judge", "judgments", "invalid", "rate"],
                [
                    [
                        _c(j),
                        _c(b.get("judgments", 0)),
                        _c(b.get("invalid", 0)),
                        _c(format_value("win_rate", b.get("rate"))),
                    ]
                    for j, b in by_judge.items()
                ],
            )
        )
    reasons = inv.get("reasons") or {}
    if reasons:
        section.blocks.append(Paragraph("Reasons (first 60 characters):"))
        section.blocks.append(
            Table(["reason", "count"], [[_c(r), _c(n)] for r, n in list(reasons.items())[:15]])
        )
    return section


def _breakdown_parts(summary: Summary) -> list[_Part]:
    metric = str(summary.get("metric"))
    systems = list(summary.get("systems", []))
    sections = []
    for field_name, groups in (summary.get("breakdowns") or {}).items():
        if not groups:
            continue
        detail = f"overall {metric_label(metric)}"
        section = _Part(
            f"by:{field_name}", f"By {field_name}: {detail}", [], f"By {field_name}", detail
        )
        rows = []
        for value, block in groups.items():
            ov = block.get("overall", {})
            rows.append(
                [
                    _c(value),
                    _c(block.get("n_items", 0)),
                    *[
                        TCell(
                            format_value(metric, ov.get(s, {}).get(metric)),
                            format_ci(metric, ov.get(s, {}).get("ci")),
                        )
                        for s in systems
                    ],
                ]
            )
        section.blocks.append(Table([field_name, "items", *systems], rows))
        sections.append(section)
    return sections


def _clip(text: object, limit: int = 160) -> str:
    value = "" if text is None else str(text)
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def examples_section(
    records: Sequence[Mapping[str, Any]], per_criterion: int = 1
) -> Section | None:
    """A few judgments as the judge saw them: candidates, the verdict and the judge's reason,
    then up to three invalid judgments with the start of their raw reply. All text is raw here
    and escaped by the renderer (candidate texts are untrusted)."""
    if not records:
        return None
    section = Section("Examples")
    shown_per: dict[str, int] = {}
    for record in records:
        criterion = str(record.get("criterion"))
        if not record.get("valid") or shown_per.get(criterion, 0) >= per_criterion:
            continue
        shown_per[criterion] = shown_per.get(criterion, 0) + 1
        mode = record.get("mode")
        rank_of = {lab: i + 1 for i, lab in enumerate(record.get("ranking") or [])}
        rows = []
        for cand in record.get("shown") or []:
            if mode == "score":
                verdict = f"score {record.get('score')}"
            elif mode == "rank":
                verdict = f"rank {rank_of.get(cand.get('label'), '?')}"
            else:
                verdict = "picked" if cand.get("label") == record.get("winner_label") else ""
            rows.append(
                [
                    _c(cand.get("label")),
                    _c(", ".join(cand.get("systems") or [cand.get("system")])),
                    _c(_clip(cand.get("text"), 200)),
                    TCell(verdict, strong=bool(verdict)),
                ]
            )
        section.blocks.append(
            Paragraph(
                f"{criterion} · {record.get('question_id')} · judge {record.get('judge')}: "
                f"{_clip(record.get('reason'), 240)}"
            )
        )
        section.blocks.append(Table(["label", "system", "follow-up as shown", "verdict"], rows))
    invalid = [r for r in records if not r.get("valid")][:3]
    if invalid:
        section.blocks.append(Paragraph("Invalid judgments (first three): reason and raw reply."))
        section.blocks.append(
            Table(
                ["question", "criterion", "judge", "reason", "raw reply"],
                [
                    [
                        _c(r.get("question_id")),
                        _c(r.get("criterion")),
                        _c(r.get("judge")),
                        _c(_clip(r.get("invalid_reason"), 120)),
                        _c(_clip(r.get("raw"), 160)),
                    ]
                    for r in invalid
                ],
            )
        )
    return section if section.blocks else None


def _partial_banner(summary: Summary, label: str | None = None) -> list[Block]:
    """The report's first line for a run that stopped early (``run.status == "stopped"``);
    ``label`` names the run in a merged report."""
    run = summary.get("run") or {}
    if run.get("status") != "stopped":
        return []
    reason = str(run.get("stop_reason") or "no reason recorded")
    reason = reason.removeprefix("stopped: ")
    done, total = run.get("done", 0), run.get("total")
    finished = f"{done} of {total}" if total is not None else f"{done}"
    who = f"Partial run ({label})" if label else "Partial run"
    return [Paragraph(f"{who}: stopped ({reason}). {finished} judgments finished.")]


def _is_partial(summary: Summary) -> bool:
    return (summary.get("run") or {}).get("status") == "stopped"


def _run_line(summary: Summary) -> str:
    overall = summary.get("overall", {})
    return (
        f"Judges: {', '.join(summary.get('judges', []))}. Systems: {len(summary.get('systems', []))}. "
        f"Items judged: {overall.get('n', 0)}; judgments: {overall.get('judgments', 0)}, invalid: {overall.get('invalid', 0)}."
    )


def _intro(runs: Sequence[ReportRun]) -> list[Block]:
    if len(runs) == 1:
        return [*_partial_banner(runs[0].summary), Paragraph(_run_line(runs[0].summary))]
    blocks: list[Block] = [
        Paragraph(
            f"Merged report of {len(runs)} runs: "
            + ", ".join(f"{r.label} ({r.summary.get('mode', '?')})" for r in runs)
            + ". Each section shows every run under its name."
        )
    ]
    for run in runs:
        blocks += _partial_banner(run.summary, run.label)
        blocks.append(
            Paragraph(f"{run.label} ({run.summary.get('mode', '?')}): {_run_line(run.summary)}")
        )
    return blocks


def _bootstrap_note(group: Sequence[ReportRun]) -> str:
    settings = [(r.summary.get("n_boot", "?"), r.summary.get("seed", "?")) for r in group]
    if len(set(map(str, settings))) == 1:
        n_boot, seed = settings[0]
        return f"QA pairs resampled, {n_boot} resamples, seed {seed}"
    return "QA pairs resampled; " + "; ".join(
        f"{r.label}: {n} resamples, seed {seed}"
        for r, (n, seed) in zip(group, settings, strict=True)
    )


def _leaderboard_sections(runs: Sequence[ReportRun]) -> list[Section]:
    leads = []
    # Runs of different modes do not share a column scale: one leaderboard per metric.
    metric_of = {r.label: str(r.summary.get("metric", "selection_rate")) for r in runs}
    for group_metric in dict.fromkeys(metric_of.values()):
        group = [r for r in runs if metric_of[r.label] == group_metric]
        board = build_leaderboard([(r.label, r.summary) for r in group])
        title = f"Leaderboard: {metric_label(group_metric)}"
        if len(runs) > 1 and len(group) == 1:
            title += f" · {group[0].label}"
        lead = Section(title)
        lead.blocks.append(
            Paragraph(
                f"Values with 95% bootstrap intervals ({_bootstrap_note(group)}); the best value "
                "of each column is marked ★."
                + (" Columns: criterion · run." if len(group) > 1 else "")
                + (" Lower is better." if group_metric == "mean_rank" else "")
            )
        )
        lead.blocks.append(leaderboard_table(board))
        caption = f"{metric_label(group_metric)} per criterion with 95% intervals"
        if group_metric == "mean_rank":
            caption += "; lower is better (a shorter bar is a better rank)"
        lead.blocks.append(Figure(_svg.leaderboard_chart(board), caption + "."))
        leads.append(lead)
    return leads


def _examples_part(run: ReportRun) -> _Part | None:
    section = examples_section(run.examples)
    return None if section is None else _Part("examples", section.title, section.blocks)


def _provenance_part(run: ReportRun) -> _Part | None:
    prov = provenance_rows(run.manifest)
    if not prov:
        return None
    return _Part(
        "provenance", "Provenance", [Table(["field", "value"], [[_c(k), _c(v)] for k, v in prov])]
    )


_MODE_NAMES = {
    "score": "a score run",
    "nway": "an n-way run",
    "pairwise": "a pairwise run",
    "rank": "a rank run",
}


def _absent(key: str, run: ReportRun) -> str:
    """What a merged report says for a run that has nothing for section ``key``."""
    summary = run.summary
    mode = summary.get("mode", "?")
    judges = list(summary.get("judges", []))
    if key == "panel":
        return f"One judge ({', '.join(judges) or 'unnamed'}): no panel."
    if key.startswith("by:"):
        return f"No {key[3:]} breakdown in this run."
    if key == "examples":
        return "No judgments.jsonl in this run: no examples."
    if key == "provenance":
        return "No manifest.json in this run."
    return f"Not applicable to {_MODE_NAMES.get(str(mode), f'a {mode} run')}."


def _merge(runs: Sequence[ReportRun], parts: Sequence[Sequence[_Part]]) -> list[Section]:
    """One section per key; in a merged report every run appears under its name in each."""
    if len(runs) == 1:
        return [Section(p.title, list(p.blocks)) for p in parts[0]]
    firsts: dict[str, _Part] = {}
    for run_parts in parts:
        for part in run_parts:
            firsts.setdefault(part.key, part)
    sections = []
    for key, first in firsts.items():
        section = Section(first.group or first.title)
        for run, run_parts in zip(runs, parts, strict=True):
            found = next((p for p in run_parts if p.key == key), None)
            heading = run.label
            if found is not None and found.detail:
                heading += f": {found.detail}"
            if _is_partial(run.summary):
                heading += " (partial run)"
            section.blocks.append(Heading(heading))
            section.blocks += list(found.blocks) if found else [Paragraph(_absent(key, run))]
        sections.append(section)
    return sections


def _present(*parts: _Part | None) -> list[_Part]:
    return [p for p in parts if p is not None]


def build_document(
    summary: Summary,
    manifest: Mapping[str, Any] | None = None,
    *,
    agreement: Mapping[str, Any] | None = None,
    extra_runs: Sequence[ReportRun | tuple[str, Summary]] = (),
    label: str | None = None,
    examples: Sequence[Mapping[str, Any]] = (),
) -> Document:
    """What the report says: leaderboard, details, panel, agreement, bias, invalid, provenance.

    ``extra_runs`` (:class:`ReportRun`, or ``(label, summary)`` pairs) merge into the
    leaderboard as extra columns (one per run and criterion); every other section shows each
    run under its name (``label`` names the first run; default: its judges).
    """
    first = ReportRun(
        label or ", ".join(summary.get("judges", [])) or "run", summary, manifest, examples
    )
    runs = [first] + [r if isinstance(r, ReportRun) else ReportRun(r[0], r[1]) for r in extra_runs]
    sections = _leaderboard_sections(runs)
    sections += _merge(runs, [_mode_parts(r.summary) for r in runs])
    ranking = _ranking_section([(r.label, r.summary) for r in runs])
    if ranking is not None:
        sections.append(ranking)
    sections += _merge(runs, [_present(_panel_part(r.summary)) for r in runs])
    agreed = agreement_section(agreement if agreement is not None else summary.get("agreement"))
    if agreed is not None:
        sections.append(agreed)
    sections += _merge(
        runs,
        [
            [_bias_part(r.summary), _invalid_part(r.summary), *_breakdown_parts(r.summary)]
            for r in runs
        ],
    )
    sections += _merge(runs, [_present(_examples_part(r)) for r in runs])
    sections += _merge(runs, [_present(_provenance_part(r)) for r in runs])
    modes = ", ".join(dict.fromkeys(str(r.summary.get("mode", "?")) for r in runs))
    return Document(f"fqeval report: {modes}", _intro(runs), sections)


def write_text_file(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` as UTF-8, creating parent directories; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
