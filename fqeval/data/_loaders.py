"""``load_data``: any supported source to validated :class:`EvalData`.

Steps: read the source into a raw table (``_read``), check every row (``_validate``), join
extra systems and metadata by ``question_id`` (``_join``), apply the caller's selections
(systems, criteria, limit) and build one :class:`Item` per row. Every problem is one
:class:`DataError` / :class:`UsageError` line; nothing is dropped silently: empty candidate
texts fail unless ``allow_missing``, and then each is recorded on its item and counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from fqeval.data._criteria import CriteriaRegistry, load_registry
from fqeval.data._join import ExtraSystem, fill_metadata, read_extra_system, read_metadata
from fqeval.data._read import read_table
from fqeval.data._records import Criterion, EvalData, Item, QAPair
from fqeval.data._table import QA_COLUMNS, REQUIRED_COLUMNS, RawTable, Row, system_columns
from fqeval.data._validate import check_limit, select_criteria, select_systems, validate_rows
from fqeval.errors import DataError, UsageError

_SKIP_HINT = "--allow-missing skips such candidates"


def load_data(
    path: str | Path,
    *,
    systems: Sequence[str] | None = None,
    extra_systems: Mapping[str, str | Path] | None = None,
    metadata: str | Path | None = None,
    criteria: Sequence[str] | None = None,
    criteria_file: str | Path | None = None,
    allow_missing: bool = False,
    limit: int | None = None,
    keep_systems: Sequence[str] = (),
) -> EvalData:
    """Load, validate and select FQ-Eval items from ``path``.

    ``path``: the official nested ``FQ-Eval.json``; a flat CSV/TSV/JSONL/JSON/parquet of items
    (one row per question and criterion; every column after the base columns is a system);
    a directory (saved with ``datasets``' ``save_to_disk``, or a folder with one such file at
    its top; metadata files such as ``*_metadata.json`` are not counted); or a Hub
    dataset id (``hf:owner/name``, or ``owner/name`` when no such local path exists).
    ``systems`` picks and orders the systems (default: all, in data order, extra systems
    last); ``keep_systems`` are kept whatever ``systems`` says (first, when the data has
    them: pairwise's reference). ``extra_systems`` maps a new system name to a file keyed by
    ``question_id`` (and optionally criterion). ``metadata`` fills empty QA fields (category, use case,
    intent, topic, set id, complexity) from another source, typically ``FQ-Eval.json``.
    ``criteria`` keeps only these criteria (exact names, any letter case, or short keys).
    ``criteria_file`` is a user criteria YAML merged over ``data/criteria.yaml``; its
    definitions beat a row's ``criteria_desc``, which beats the shipped definitions.
    ``allow_missing`` skips empty candidate texts (recorded in ``Item.missing`` and counted
    in ``EvalData.missing_candidates``) instead of failing. ``limit`` keeps the first N QA
    pairs (with all their criteria). The whole source is validated whatever the selection;
    empty candidates are checked for the selected items and systems only.
    """
    check_limit(limit)
    registry = load_registry(criteria_file)
    table = read_table(path, REQUIRED_COLUMNS)
    row_criteria = validate_rows(table, registry)
    data_systems = system_columns(table)
    question_ids = {row.get("question_id").strip() for row in table.rows}
    extras = _read_extras(extra_systems, data_systems, registry, question_ids, table.source)
    known = [*data_systems, *(extra.name for extra in extras)]
    if not known:
        raise DataError(
            f"{table.source}: no follow-up columns (expected 'final_fq' or one column per "
            "system after the base columns)"
        )
    chosen = select_systems(known, _with_kept(systems, keep_systems, known))
    wanted = select_criteria(registry, row_criteria, criteria)
    meta = read_metadata(metadata) if metadata is not None else None

    builder = _ItemBuilder(table, registry, chosen, extras, meta, allow_missing)
    kept_questions: set[str] = set()
    for row, criterion in zip(table.rows, row_criteria, strict=True):
        if wanted is not None and criterion not in wanted:
            continue
        question_id = row.get("question_id").strip()
        if limit is not None and question_id not in kept_questions:
            if len(kept_questions) >= limit:
                continue
            kept_questions.add(question_id)
        builder.add(row, question_id, criterion)

    extra_info: dict[str, object] = {"format": table.format, "files": list(table.files)}
    if criteria_file is not None:
        extra_info["criteria_file"] = str(criteria_file)
    if extras:
        extra_info["extra_systems"] = {extra.name: extra.file for extra in extras}
    if metadata is not None:
        extra_info["metadata"] = str(metadata)
        extra_info["metadata_unmatched"] = builder.metadata_unmatched
    return EvalData(
        items=tuple(builder.items),
        systems=tuple(chosen),
        source=table.source,
        missing_candidates=builder.missing_total,
        extra=extra_info,
    )


def _with_kept(
    systems: Sequence[str] | None, keep: Sequence[str], known: Sequence[str]
) -> list[str] | None:
    """``systems`` with each of ``keep`` that the data has put first, unless already named."""
    if systems is None or not any(name.strip() for name in systems):
        return None if systems is None else list(systems)
    named = {name.strip() for name in systems}
    kept = [name for name in keep if name in known and name not in named]
    return [*kept, *systems]


def _read_extras(
    extra_systems: Mapping[str, str | Path] | None,
    data_systems: Sequence[str],
    registry: CriteriaRegistry,
    question_ids: set[str],
    source: str,
) -> list[ExtraSystem]:
    extras: list[ExtraSystem] = []
    for raw_name, extra_path in (extra_systems or {}).items():
        name = raw_name.strip()
        if not name:
            raise UsageError(f"--system: empty system name for {extra_path}")
        if name in data_systems:
            raise UsageError(f"--system {name}: the data already has a system '{name}'")
        if any(extra.name == name for extra in extras):
            raise UsageError(f"--system {name}: named twice")
        extras.append(read_extra_system(name, extra_path, registry, question_ids, source))
    return extras


class _ItemBuilder:
    """Builds items row by row, sharing one QAPair per question and one Criterion per text."""

    def __init__(
        self,
        table: RawTable,
        registry: CriteriaRegistry,
        systems: Sequence[str],
        extras: Sequence[ExtraSystem],
        metadata: Mapping[str, Mapping[str, str]] | None,
        allow_missing: bool,
    ) -> None:
        self.table = table
        self.registry = registry
        self.systems = systems
        self.extras = {extra.name: extra for extra in extras}
        self.metadata = metadata
        self.allow_missing = allow_missing
        self.items: list[Item] = []
        self.missing_total = 0
        self.metadata_unmatched = 0
        self._qa: dict[str, QAPair] = {}
        self._criteria: dict[tuple[str, str], Criterion] = {}

    def add(self, row: Row, question_id: str, criterion_name: str) -> None:
        candidates: dict[str, str] = {}
        missing: list[str] = []
        for system in self.systems:
            text = self._candidate(row, question_id, criterion_name, system)
            if text:
                candidates[system] = text
            else:
                missing.append(system)
        self.missing_total += len(missing)
        self.items.append(
            Item(
                qa=self._qa_pair(row, question_id),
                criterion=self._criterion(row, criterion_name),
                candidates=candidates,
                fq_id=row.get("fq_id").strip(),
                missing=tuple(missing),
            )
        )

    def _candidate(self, row: Row, question_id: str, criterion: str, system: str) -> str:
        extra = self.extras.get(system)
        if extra is None:
            text = row.get(system).strip()
            if not text and not self.allow_missing:
                raise DataError(
                    f"{row.where}, column '{self.table.label(system)}': empty follow-up text "
                    f"({_SKIP_HINT})"
                )
            return text
        found = extra.lookup(question_id, criterion)
        if found is None:
            if not self.allow_missing:
                raise DataError(
                    f"{extra.file}: no follow-up of system '{system}' for question_id "
                    f"{question_id}, criterion '{criterion}' ({_SKIP_HINT})"
                )
            return ""
        text, source_row = found
        if not text and not self.allow_missing:
            raise DataError(
                f"{source_row.where}, column '{extra.text_column}': empty follow-up text "
                f"({_SKIP_HINT})"
            )
        return text

    def _qa_pair(self, row: Row, question_id: str) -> QAPair:
        qa = self._qa.get(question_id)
        if qa is None:
            values = {column: row.get(column).strip() for column in QA_COLUMNS}
            if self.metadata is not None:
                found = self.metadata.get(question_id)
                if found is None:
                    self.metadata_unmatched += 1
                else:
                    values = fill_metadata(values, found)
            values["question_id"] = question_id
            qa = QAPair(**values)
            self._qa[question_id] = qa
        return qa

    def _criterion(self, row: Row, name: str) -> Criterion:
        registered = self.registry.criteria[name]
        definition = row.get("criteria_desc").strip()
        if name in self.registry.user_defined or not definition:
            definition = registered.definition
        key = (name, definition)
        criterion = self._criteria.get(key)
        if criterion is None:
            criterion = self._criteria[key] = Criterion(name, definition)
        return criterion
