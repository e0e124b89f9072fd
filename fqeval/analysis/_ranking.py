"""Ranking metrics over qrels and runs, equal to trec_eval's to 1e-9, conventions included.

Conventions (trec_eval 9.x, as pytrec_eval runs it):

* **Order.** A query's documents are ordered by score, descending; equal scores by docid,
  descending, compared as strings byte by byte (``strcmp``: ``"9"`` before ``"10"``). The rank
  column of a run file is never used. Ranks are 1-based.
* **Relevant** means a qrels label >= 1. Labels <= 0 and documents missing from the qrels
  (unjudged) are non-relevant; negative labels add nothing to any DCG, ideal or not.
* **Evaluated queries** are those in both the run and the qrels. Run queries missing from the
  qrels are ignored. A query the run lists with no document (possible with a dict run) is
  evaluated and scores 0 on every metric. A qrels query with no relevant document scores 0.
* **Averages.** ``mean_over_evaluated`` (trec_eval's default) is the mean over evaluated
  queries. ``mean_over_all_qrels_queries`` (``trec_eval -c``) is the mean over every qrels
  query, a query missing from the run counting 0; :attr:`RankingResult.per_query` then holds
  those queries too, with zeros, so ``per_query.mean()`` equals ``mean`` under both.
* **Duplicates.** A run listing a document twice for one query, or qrels judging one twice,
  have no trec_eval value (pytrec_eval's file parsers refuse them; dicts cannot hold them).
  We raise
  :class:`DataError` when the document has a positive label (in the qrels, either judgment),
  or when a run repeats a document with one score in a query the qrels know (a run query
  the qrels lack is ignored, repeats and all, as trec_eval ignores it). Other repeats go
  undetected, for speed:
  a non-relevant document listed twice with two scores shifts the ranks below it, as two
  non-relevant documents would.

Metrics (``R`` = the query's relevant documents in the qrels, ``|R|`` their count, ``rel(i)``
1 when the document at rank ``i`` is relevant, ``g(i)`` its label when positive else 0; ``k``
cuts the ranking to its first ``k`` documents; a ranking shorter than ``k`` is used whole, and
a division by a zero count gives 0):

``ndcg``, ``ndcg@k``
    ``DCG@k / IDCG@k`` with ``DCG@k = sum_{i<=k} g(i) / log2(i + 1)`` (linear gain, trec_eval's
    ``ndcg``/``ndcg_cut.k``) and ``IDCG@k`` the same sum over all positive qrels labels of the
    query sorted descending; without ``k``, both sums run over everything (the ranking's full
    length, all positive labels). 0 when the query has no positive label.
``mrr``, ``mrr@k``
    ``1 / rank`` of the first relevant document (trec_eval's ``recip_rank``), 0 when there is
    none; with ``k``, 0 also when it ranks below ``k``.
``hit@k``
    1 when a relevant document ranks in the top ``k``, else 0 (trec_eval's ``success.k``).
``recall@k``
    ``|relevant in top k| / |R|`` (trec_eval's ``recall.k``).
``precision@k``
    ``|relevant in top k| / k``, always divided by ``k`` even when fewer documents are ranked
    (trec_eval's ``P.k``).
``map``, ``map@k``
    ``sum_{i<=k, rel(i)} precision@i / |R|`` (trec_eval's ``map``/``map_cut.k``): relevant
    documents never retrieved, or below ``k``, count as precision 0.

Speed: everything runs on flat arrays (numpy, pyarrow compute); the one Python loop walks
steps of about 65k rows (:func:`_join`), never rows or queries. Only documents with a positive
label are carried past the join with the qrels. A run already ordered like trec_eval orders it
(the usual TREC file) is checked in one pass and not sorted again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Union

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fqeval.errors import DataError, UsageError

#: Metric families; ``hit``, ``recall`` and ``precision`` need a cutoff ``@k``.
METRIC_FAMILIES: tuple[str, ...] = ("ndcg", "mrr", "map", "hit", "recall", "precision")
_CUTOFF_REQUIRED = frozenset({"hit", "recall", "precision"})
#: The two ways to average per-query values (see the module docstring).
AVERAGES: tuple[str, ...] = ("mean_over_evaluated", "mean_over_all_qrels_queries")

#: A qrels or run as ``{qid: {docid: label_or_score}}``.
NestedDict = Mapping[str, Mapping[str, float]]
RankingInput = Union[pd.DataFrame, NestedDict]  # noqa: UP007 - a runtime alias on 3.10

_METRIC_NAME = re.compile(r"([a-z]+)(?:@(\d+))?")


@dataclass(frozen=True)
class Metric:
    """A parsed metric name: ``family`` (one of :data:`METRIC_FAMILIES`) and cutoff ``k``."""

    family: str
    k: int | None = None

    @property
    def name(self) -> str:
        """The canonical name, ``family`` or ``family@k``."""
        return self.family if self.k is None else f"{self.family}@{self.k}"


def parse_metric(name: str) -> Metric:
    """Parse ``"ndcg@10"``-style names; raise :class:`UsageError` naming a bad one.

    Accepted: ``ndcg``, ``ndcg@k``, ``mrr``, ``mrr@k``, ``map``, ``map@k``, ``hit@k``,
    ``recall@k``, ``precision@k`` with ``k`` a positive integer. Case and surrounding blanks
    are ignored; :attr:`Metric.name` gives the canonical spelling used as a column name.
    """
    text = str(name).strip().lower()
    match = _METRIC_NAME.fullmatch(text)
    forms = "ndcg, ndcg@k, mrr, mrr@k, map, map@k, hit@k, recall@k, precision@k"
    if match is None or match.group(1) not in METRIC_FAMILIES:
        raise UsageError(
            f"unknown ranking metric {name!r}: use one of {forms} (k a positive integer)"
        )
    family, cutoff = match.group(1), match.group(2)
    if cutoff is None:
        if family in _CUTOFF_REQUIRED:
            raise UsageError(
                f"ranking metric {name!r} needs a cutoff: {family}@k, e.g. {family}@10"
            )
        return Metric(family)
    k = int(cutoff)
    if k < 1:
        raise UsageError(f"ranking metric {name!r}: the cutoff k must be a positive integer")
    return Metric(family, k)


@dataclass(frozen=True)
class RankingResult:
    """Ranking metrics of one run against one qrels.

    ``mean`` maps each metric name to its average under ``average``; ``per_query`` has one
    row per query (index ``qid``, sorted as strings) and one float column per metric, in the
    order asked. Under ``mean_over_all_qrels_queries`` it also holds the qrels queries missing
    from the run, with 0 everywhere.
    """

    mean: dict[str, float]
    per_query: pd.DataFrame
    average: str = "mean_over_evaluated"


def evaluate(
    qrels: RankingInput,
    run: RankingInput,
    metrics: Sequence[str],
    *,
    average: str = "mean_over_evaluated",
) -> RankingResult:
    """Evaluate ``run`` against ``qrels`` with trec_eval's conventions (module docstring).

    ``qrels``: DataFrame ``qid, docid, rel`` (integer labels) or ``{qid: {docid: label}}``.
    ``run``: DataFrame ``qid, docid, score`` or ``{qid: {docid: score}}`` (an empty inner dict
    is a query with an empty ranking). ``metrics``: names for :func:`parse_metric`; repeats are
    dropped. ``average``: one of :data:`AVERAGES`.

    Raises :class:`UsageError` for a bad metric name or ``average``, :class:`DataError` for
    missing columns, missing or NaN values, non-integer labels, duplicates (module docstring),
    or when nothing can be averaged (no query in both under ``mean_over_evaluated``, an empty
    qrels).
    """
    if average not in AVERAGES:
        raise UsageError(f"unknown average {average!r}: use one of {', '.join(AVERAGES)}")
    if isinstance(metrics, str):
        metrics = [metrics]
    parsed = list(dict.fromkeys(parse_metric(name) for name in metrics))
    if not parsed:
        raise UsageError("no ranking metric asked for")
    judged = _Qrels.build(qrels)
    _release_memory()
    ranked = _Run.build(run)
    # Each block's query number in the qrels, -1 when the qrels do not know it.
    block_query = _query_numbers(judged.qids, ranked.heads)
    hits = _relevant_hits(judged, ranked, block_query)
    values = _metric_values(judged, hits, parsed)

    evaluated = np.zeros(judged.n_queries, dtype=bool)
    evaluated[block_query[block_query >= 0]] = True
    if ranked.empty:  # queries with an empty ranking count too
        empty = np.asarray(judged.qids.get_indexer(pd.Index(ranked.empty, dtype="str")))
        evaluated[empty[empty >= 0]] = True
    if average == "mean_over_evaluated":
        if not evaluated.any():
            example = [*ranked.heads[:1], *ranked.empty[:1]]
            raise DataError(
                "no query is in both the run and the qrels "
                f"(run e.g. {example[0] if example else ''!r}, qrels e.g. {judged.qids[0]!r})"
            )
        keep = np.flatnonzero(evaluated)
    else:
        keep = np.arange(judged.n_queries)
        for column in values.values():
            column[~evaluated] = 0.0  # a query missing from the run scores 0 (trec_eval -c)
    qids = judged.qids.take(keep)
    order = pc.array_sort_indices(_arrow(qids)).to_numpy()
    per_query = pd.DataFrame(
        {metric.name: values[metric][keep][order] for metric in parsed},
        index=pd.Index(qids.take(order), name="qid", dtype="str"),
    )
    mean = {metric.name: float(per_query[metric.name].mean()) for metric in parsed}
    return RankingResult(mean=mean, per_query=per_query, average=average)


# --------------------------------------------------------------------------------------------
# Inputs as flat arrays


@dataclass(frozen=True)
class _Qrels:
    """The qrels as arrays. Queries are numbered 0..n_queries-1; the positive judgments
    (label > 0, the only ones that can change a metric) are sorted by query number."""

    qids: pd.Index  # qid string of each query number
    positive_query: np.ndarray  # int64 query number of each positive judgment (sorted)
    positive_docid: pa.Array  # its docid
    positive_label: np.ndarray  # its label (int64)
    positive_start: np.ndarray  # query q's judgments are [positive_start[q], positive_start[q+1])
    num_relevant: np.ndarray  # float64 |R| per query
    ideal_query: np.ndarray  # the positive labels sorted by query, then label descending:
    ideal_rank: np.ndarray  # ... each one's 1-based rank in its query's ideal ranking
    ideal_gain: np.ndarray  # ... and its discounted gain label / log2(rank + 1)

    @property
    def n_queries(self) -> int:
        return len(self.qids)

    @classmethod
    def build(cls, qrels: RankingInput) -> _Qrels:
        frame, _ = _as_frame(qrels, "qrels", "rel")
        labels = _integer_labels(frame["rel"])
        starts, heads = _blocks(frame["qid"], "qrels")
        block_query, qids = pd.factorize(heads)
        block_query = np.asarray(block_query, dtype=np.int64)
        qids = pd.Index(qids, dtype="str")
        if len(qids) == 0:
            raise DataError("the qrels are empty: no query has a judged document")
        docid = _chunked(_strings(frame["docid"], "qrels", "docid"))
        query_of_row = np.repeat(block_query, np.diff(np.append(starts, len(labels))))
        mask = labels > 0
        rows = np.flatnonzero(mask)
        query = query_of_row[rows]
        positive_docid = docid.filter(pa.array(mask)).combine_chunks()
        by_query = np.argsort(query, kind="stable")
        if not np.array_equal(by_query, np.arange(len(rows))):  # a qid split over blocks
            query, rows = query[by_query], rows[by_query]
            positive_docid = positive_docid.take(pa.array(by_query))
        num_relevant = np.bincount(query_of_row, weights=labels >= 1, minlength=len(qids))
        del query_of_row
        ideal = np.lexsort((-labels[rows], query))
        ideal_query = query[ideal]
        ideal_rank = _rank_in_group(ideal_query)
        judged = cls(
            qids=qids,
            positive_query=query,
            positive_docid=positive_docid,
            positive_label=labels[rows],
            positive_start=np.searchsorted(query, np.arange(len(qids) + 1)),
            num_relevant=num_relevant,
            ideal_query=ideal_query,
            ideal_rank=ideal_rank,
            ideal_gain=labels[rows][ideal] / np.log2(ideal_rank + 1.0),
        )
        _check_repeats(docid, labels, starts, block_query, qids)
        return judged

    def ideal_dcg(self, k: int | None) -> np.ndarray:
        """Per query: the sum of label / log2(rank + 1) over its positive labels sorted
        descending, the first ``k`` of them (all without ``k``)."""
        gain = self.ideal_gain if k is None else self.ideal_gain * (self.ideal_rank <= k)
        return np.bincount(self.ideal_query, weights=gain, minlength=self.n_queries)


@dataclass(frozen=True)
class _Run:
    """The run as arrays, rows in input order, cut into blocks of rows with one qid."""

    docids: pa.ChunkedArray
    scores: np.ndarray  # float64
    block_starts: np.ndarray  # first row of each block (0 first)
    heads: pd.Index  # each block's qid
    empty: list[str]  # qids with an empty ranking (dict runs only)

    @property
    def n_rows(self) -> int:
        return len(self.scores)

    @classmethod
    def build(cls, run: RankingInput) -> _Run:
        frame, empty = _as_frame(run, "run", "score")
        docids = _chunked(_strings(frame["docid"], "run", "docid"))
        scores = _scores(frame["score"])
        block_starts, heads = _blocks(frame["qid"], "run")
        return cls(docids, scores, block_starts, heads, empty)


def _blocks(column: pd.Series, what: str) -> tuple[np.ndarray, pd.Index]:
    """Cut rows into blocks of equal consecutive qids: (first row of each block, its qid).

    One comparison per row instead of hashing every qid: TREC files list a query's lines
    together, so only the block heads need a dictionary lookup. A categorical column compares
    its integer codes.
    """
    n = len(column)
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        if n and codes.min() < 0:
            raise DataError(f"{what}: missing qid at row {int(np.argmin(codes)) + 1}")
        starts = np.flatnonzero(np.concatenate([[n > 0], codes[1:] != codes[:-1]]))
        heads = column.cat.categories.take(codes[starts]).astype("str")
        return starts.astype(np.int64), pd.Index(heads, dtype="str")
    qid = _chunked(_strings(column, what, "qid"))
    if n > 1:
        change = pc.not_equal(qid[1:], qid[:-1]).to_numpy(zero_copy_only=False)
    else:
        change = np.zeros(0, dtype=bool)
    starts = np.flatnonzero(np.concatenate([[n > 0], change])).astype(np.int64)
    return starts, pd.Index(_take(qid, starts).to_pandas(), dtype="str")


def _query_numbers(qids: pd.Index, heads: pd.Index) -> np.ndarray:
    """Each head's place in ``qids`` (distinct), -1 when absent. Runs and qrels usually list
    the same queries in the same order: one string comparison each, then, instead of a hash."""
    if len(heads) == len(qids) and len(qids):
        same = pc.equal(_arrow(heads), _arrow(qids).cast(_arrow(heads).type))
        if bool(pc.all(same).as_py()):
            return np.arange(len(qids), dtype=np.int64)
    return np.asarray(qids.get_indexer(heads), dtype=np.int64)


def _take(values: pa.ChunkedArray, rows: np.ndarray) -> pa.ChunkedArray:
    """``values[rows]`` for distinct ``rows``, chunk by chunk.

    pyarrow's ``take`` on a chunked array first concatenates every chunk (a copy of the whole
    column); a boolean filter works chunk by chunk, and only the few picked values are then
    put in the order asked.
    """
    mask = np.zeros(len(values), dtype=bool)
    mask[rows] = True
    picked = values.filter(pa.array(mask))  # ascending row order
    if len(rows) < 2 or bool(np.all(rows[1:] > rows[:-1])):
        return picked
    return picked.take(pa.array(np.argsort(np.argsort(rows, kind="stable"), kind="stable")))


def _relevant_hits(judged: _Qrels, ranked: _Run, block_query: np.ndarray) -> _Hits:
    """Join the run with the positive judgments: the rows found, their ranks and gains."""
    if ranked.n_rows == 0 or len(judged.positive_query) == 0:
        nothing = np.zeros(0, dtype=np.int64)
        return _Hits(nothing, nothing, np.zeros(0))
    rows, found = _join(judged, ranked.docids, ranked.block_starts, block_query, ranked.n_rows)
    twice = np.flatnonzero(np.bincount(found, minlength=len(judged.positive_query)) > 1)
    if len(twice):
        raise DataError(
            f"the run lists document {judged.positive_docid[int(twice[0])].as_py()!r} twice "
            f"for query {judged.qids[int(judged.positive_query[twice[0]])]!r}"
        )
    return _Hits(
        query=judged.positive_query[found],
        rank=_ranks(ranked, rows, block_query, judged.n_queries),
        gain=judged.positive_label[found].astype(np.float64),
    )


#: Rows hashed per step of :func:`_join` and :func:`_check_repeats`: small enough that the
#: step's hash table stays in the CPU cache.
_STEP_ROWS = 1 << 16


def _steps(
    block_starts: np.ndarray, n_rows: int, whole: bool = False
) -> Iterator[tuple[int, int, int, int]]:
    """Steps of about ``_STEP_ROWS`` rows made of whole blocks: (first block, end block,
    first row, end row). ``whole``: one step over everything."""
    n_blocks = len(block_starts)
    if whole:
        edges = np.array([0, n_blocks])
    else:
        # The first block starting at or after every _STEP_ROWS-th row opens a step.
        edges = np.searchsorted(block_starts, np.arange(0, n_rows, _STEP_ROWS))
        edges = np.append(np.unique(np.append(edges[edges < n_blocks], 0)), n_blocks)
    for first_block, end_block in pairwise(edges.tolist()):
        end_row = int(block_starts[end_block]) if end_block < n_blocks else n_rows
        yield first_block, end_block, int(block_starts[first_block]), end_row


def _join(
    judged: _Qrels,
    docids: pa.ChunkedArray,
    block_starts: np.ndarray,
    block_query: np.ndarray,
    n_rows: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose (query, docid) is a positive judgment: (row numbers, judgment numbers).

    ``block_starts``/``block_query`` cut the rows into blocks of one query (a qrels query
    number, -1 for none). Hashing every row against all positive judgments at once is slow
    (a table of millions of strings misses the cache at every probe) and memory-hungry; the
    rows go instead in steps of about ``_STEP_ROWS`` rows of whole blocks, each hashed
    together with the judgments of its own queries, so that equal docids get equal numbers;
    (query, number) pairs are then matched as integers.
    """
    lengths = np.diff(np.append(block_starts, n_rows))
    rows_found: list[np.ndarray] = []
    judgments_found: list[np.ndarray] = []
    for first_block, end_block, start_row, end_row in _steps(block_starts, n_rows):
        queries = block_query[first_block:end_block]
        wanted = np.unique(queries[queries >= 0])
        judgments = _ranges(judged.positive_start[wanted], judged.positive_start[wanted + 1])
        if len(judgments) == 0:
            continue
        dictionary = judged.positive_docid.take(pa.array(judgments)).cast(docids.type)
        place = _lookup(dictionary, dictionary)  # a docid's number: its first place
        keys = judged.positive_query[judgments] * len(judgments) + place
        by_key = np.argsort(keys, kind="stable")
        keys = keys[by_key]
        code = _lookup(docids.slice(start_row, end_row - start_row), dictionary)
        row_query = np.repeat(queries, lengths[first_block:end_block])
        hit = np.flatnonzero((code >= 0) & (row_query >= 0))
        probe = row_query[hit] * len(judgments) + code[hit]
        slot = np.minimum(np.searchsorted(keys, probe), len(keys) - 1)
        found = keys[slot] == probe
        match, slot = hit[found], slot[found]
        rows_found.append(start_row + match)
        judgments_found.append(judgments[by_key[slot]])
    if not rows_found:
        nothing = np.zeros(0, dtype=np.int64)
        return nothing, nothing
    return np.concatenate(rows_found), np.concatenate(judgments_found)


def _check_repeats(
    docids: pa.ChunkedArray,
    labels: np.ndarray,
    block_starts: np.ndarray,
    block_query: np.ndarray,
    qids: pd.Index,
) -> None:
    """Raise DataError when qrels judge a document twice for a query and either judgment is
    positive (two non-relevant judgments change nothing and pass)."""
    n_rows = len(labels)
    lengths = np.diff(np.append(block_starts, n_rows))
    split = len(block_starts) > len(qids)  # a qid in several blocks: look at all at once
    for first_block, end_block, start_row, end_row in _steps(block_starts, n_rows, whole=split):
        numbers = _encode(docids.slice(start_row, end_row - start_row).chunks)
        query = np.repeat(block_query[first_block:end_block], lengths[first_block:end_block])
        keys = query * max(len(numbers), 1) + numbers
        by_key = np.argsort(keys, kind="stable")
        keys, positive = keys[by_key], labels[start_row:end_row][by_key] > 0
        twice = np.flatnonzero((keys[1:] == keys[:-1]) & (positive[1:] | positive[:-1]))
        if len(twice):
            row = start_row + int(by_key[twice[0] + 1])
            raise DataError(
                f"qrels judge document {docids[row].as_py()!r} twice for query "
                f"{qids[int(query[by_key[twice[0] + 1]])]!r}"
            )


def _lookup(values: pa.Array | pa.ChunkedArray, value_set: pa.Array) -> np.ndarray:
    """Place of each value's first occurrence in ``value_set`` (int64), -1 when absent.
    (Cheaper than :func:`_encode` when most values are absent: only the set is stored.)"""
    found = pc.fill_null(pc.index_in(values, value_set=value_set), -1)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)


def _encode(arrays: Sequence[pa.Array]) -> np.ndarray:
    """One number per value, equal for equal values (one hash pass over all of them)."""
    if not arrays or sum(len(a) for a in arrays) == 0:
        return np.zeros(0, dtype=np.int64)
    encoded = pc.dictionary_encode(pa.chunked_array(arrays))
    return np.concatenate([chunk.indices.to_numpy() for chunk in encoded.chunks]).astype(np.int64)


def _ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(start, stop)`` for each pair, without a loop."""
    lengths = stops - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return offsets + np.arange(total, dtype=np.int64)


def _release_memory() -> None:
    # pyarrow's allocator keeps freed pages (hash tables of the lookups above) for reuse;
    # handing them back keeps them from stacking onto the next step's peak.
    pa.default_memory_pool().release_unused()


@dataclass(frozen=True)
class _Hits:
    """Retrieved documents with a positive label: their qrels query, rank and gain."""

    query: np.ndarray
    rank: np.ndarray
    gain: np.ndarray


def _ranks(ranked: _Run, rows: np.ndarray, block_query: np.ndarray, n_queries: int) -> np.ndarray:
    """1-based rank of each row in ``rows`` within its query, in trec_eval's order.

    ``block_query``: each block's qrels query number, -1 for queries the qrels lack (their
    rows are ordered too, each block on its own, but never asked for).
    """
    n, scores, starts = ranked.n_rows, ranked.scores, ranked.block_starts
    known = block_query[block_query >= 0]
    contiguous = len(known) == 0 or int(np.bincount(known).max()) <= 1
    same_query = np.ones(n - 1, dtype=bool)
    same_query[starts[1:] - 1] = False
    ordered = contiguous and not bool(np.any(same_query & (scores[1:] > scores[:-1])))
    if ordered:
        order = None
        query_sorted = None
        ties = np.flatnonzero(same_query & (scores[1:] == scores[:-1]))
    else:
        group = np.where(block_query >= 0, block_query, n_queries + np.arange(len(starts)))
        query_of_row = np.repeat(group, np.diff(np.append(starts, n)))
        order = np.lexsort((-scores, query_of_row))
        query_sorted = query_of_row[order]
        del query_of_row
        score_sorted = scores[order]
        ties = np.flatnonzero(
            (query_sorted[1:] == query_sorted[:-1]) & (score_sorted[1:] == score_sorted[:-1])
        )
        del score_sorted
    if len(ties):
        order = _order_ties(ranked, order, ties, n, block_query)
    if order is None:
        block = np.searchsorted(starts, rows, side="right") - 1
        return rows - starts[block] + 1
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n, dtype=np.int64)
    if query_sorted is None:  # input was in query blocks already: blocks are the groups
        group_start = starts[np.searchsorted(starts, rows, side="right") - 1]
        return position[rows] - group_start + 1
    first = np.searchsorted(query_sorted, query_sorted[position[rows]], side="left")
    return position[rows] - first + 1


def _order_ties(
    ranked: _Run, order: np.ndarray | None, ties: np.ndarray, n: int, block_query: np.ndarray
) -> np.ndarray | None:
    """Put documents with equal scores in docid-descending order (trec_eval's strcmp).

    ``ties`` holds positions ``p`` (in ``order``) whose row ties with the row at ``p + 1``.
    Returns the corrected order, or the input one when the ties were already in order. A
    document listed twice with one score is an error in a query the qrels know; in one they
    do not (``block_query`` -1), trec_eval ignores the query, and so do we.
    """
    in_tie = np.zeros(n, dtype=bool)
    in_tie[ties] = True
    in_tie[ties + 1] = True
    positions = np.flatnonzero(in_tie)
    tie_pair = np.zeros(n, dtype=bool)
    tie_pair[ties] = True
    new_group = np.ones(len(positions), dtype=bool)
    new_group[1:] = ~tie_pair[positions[1:] - 1]
    group = np.cumsum(new_group)
    rows = positions if order is None else order[positions]
    names = _take(ranked.docids, rows).to_pandas()
    name_rank, _ = pd.factorize(names, sort=True)
    within = np.lexsort((-name_rank, group))
    group, name_rank = group[within], name_rank[within]
    repeated = np.flatnonzero((group[1:] == group[:-1]) & (name_rank[1:] == name_rank[:-1]))
    if len(repeated):
        repeated_rows = rows[within[repeated]]
        block = np.searchsorted(ranked.block_starts, repeated_rows, side="right") - 1
        judged = np.flatnonzero(block_query[block] >= 0)
        if len(judged):
            first = int(judged[0])
            raise DataError(
                f"the run lists document {names.iloc[within[repeated[first]]]!r} twice for "
                f"query {ranked.heads[int(block[first])]!r}"
            )
    if np.array_equal(within, np.arange(len(within))):
        return order
    result = np.arange(n, dtype=np.int64) if order is None else order
    result[positions] = rows[within]
    return result


def _metric_values(
    judged: _Qrels, hits: _Hits, metrics: Sequence[Metric]
) -> dict[Metric, np.ndarray]:
    """Per-query values (indexed by qrels query number) of every metric."""
    n_queries = judged.n_queries
    query, rank, gain = hits.query, hits.rank, hits.gain
    if not _grouped_by_rank(query, rank):  # rows of an ordered run already are
        order = np.lexsort((rank, query))
        query, rank, gain = query[order], rank[order], gain[order]
    # Relevant documents at or above each one: its place among its query's hits (ranks rise).
    relevant_above = _rank_in_group(query)
    best_rank = np.full(n_queries, np.inf)
    first = np.flatnonzero(np.diff(query, prepend=-1))  # hits sorted by rank: first is best
    best_rank[query[first]] = rank[first]
    num_relevant = judged.num_relevant
    discounted = gain / np.log2(rank + 1.0)

    def per_query(weights: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
        if where is not None:
            weights = weights * where
        return np.bincount(query, weights=weights, minlength=n_queries)

    def ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
        out = np.zeros(n_queries)
        np.divide(top, bottom, out=out, where=bottom > 0)
        return out

    values: dict[Metric, np.ndarray] = {}
    for metric in metrics:
        k = metric.k
        within = None if k is None else rank <= k
        limit = math.inf if k is None else k
        if metric.family == "ndcg":
            values[metric] = ratio(per_query(discounted, within), judged.ideal_dcg(k))
        elif metric.family == "mrr":
            values[metric] = np.where(best_rank <= limit, 1.0 / best_rank, 0.0)
        elif metric.family == "hit":
            values[metric] = (best_rank <= limit).astype(np.float64)
        elif metric.family == "precision":
            values[metric] = per_query(np.ones(len(rank)), within) / float(limit)
        elif metric.family == "recall":
            values[metric] = ratio(per_query(np.ones(len(rank)), within), num_relevant)
        else:  # map
            values[metric] = ratio(per_query(relevant_above / rank, within), num_relevant)
    return values


# --------------------------------------------------------------------------------------------
# Input normalisation


def _as_frame(data: RankingInput, what: str, value: str) -> tuple[pd.DataFrame, list[str]]:
    """``qid, docid, <value>`` columns, and the qids of empty rankings in a dict input.

    In a dict run, ``{qid: {}}`` is a query with an empty ranking: it is still evaluated
    (value 0). In a dict qrels it judges nothing, so the query does not exist, as in a file.
    """
    if isinstance(data, pd.DataFrame):
        missing = [c for c in ("qid", "docid", value) if c not in data.columns]
        if missing:
            raise DataError(
                f"{what} DataFrame lacks column {missing[0]!r} (needs qid, docid, {value})"
            )
        return data, []
    if not isinstance(data, Mapping):
        raise DataError(
            f"{what} must be a DataFrame (qid, docid, {value}) or a {{qid: {{docid: {value}}}}} dict"
        )
    qids: list[str] = []
    docids: list[str] = []
    values: list[object] = []
    empty: list[str] = []
    for qid, docs in data.items():
        if not isinstance(docs, Mapping):
            raise DataError(
                f"{what} query {qid!r}: expected a {{docid: {value}}} dict, got {type(docs).__name__}"
            )
        if not docs:
            empty.append(str(qid))
        qids.extend([str(qid)] * len(docs))
        docids.extend(str(d) for d in docs)
        values.extend(docs.values())
    frame = pd.DataFrame(
        {
            "qid": pd.array(qids, dtype="str"),
            "docid": pd.array(docids, dtype="str"),
            value: pd.Series(values, dtype=object) if values else pd.Series([], dtype=np.float64),
        }
    )
    return frame, empty if what == "run" else []


def _strings(column: pd.Series, what: str, name: str) -> pd.Series:
    if column.isna().any():
        row = int(np.flatnonzero(column.isna().to_numpy())[0])
        raise DataError(f"{what}: missing {name} at row {row + 1}")
    if isinstance(column.dtype, pd.StringDtype):
        return column
    return column.astype("str")


def _arrow(values: pd.Index) -> pa.Array:
    """Strings as one contiguous arrow array (only for small columns: it may copy)."""
    if not isinstance(values.dtype, pd.StringDtype):
        values = values.astype("str")
    array = pa.array(values.array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _chunked(column: pd.Series) -> pa.ChunkedArray:
    array = pa.array(column)
    if isinstance(array, pa.ChunkedArray):
        return array
    return pa.chunked_array([array])


def _scores(column: pd.Series) -> np.ndarray:
    if column.dtype == np.float64:
        scores = column.to_numpy()
        if np.isnan(scores).any():
            row = int(np.flatnonzero(np.isnan(scores))[0])
            raise DataError(f"run: score at row {row + 1} is missing or NaN")
        return scores
    try:
        scores = pd.to_numeric(column, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (ValueError, TypeError) as err:
        raise DataError(f"run: a score is not a number ({err})") from None
    if np.isnan(scores).any():
        row = int(np.flatnonzero(np.isnan(scores))[0])
        raise DataError(f"run: score at row {row + 1} is missing or NaN")
    return scores


def _integer_labels(column: pd.Series) -> np.ndarray:
    if pd.api.types.is_integer_dtype(column.dtype) and not column.isna().any():
        return column.to_numpy(dtype=np.int64)
    try:
        labels = pd.to_numeric(column, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    except (ValueError, TypeError) as err:
        raise DataError(f"qrels: a relevance label is not a number ({err})") from None
    bad = np.isnan(labels) | (labels != np.round(labels))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"qrels: relevance label at row {row + 1} is not an integer: {column.iloc[row]!r}"
        )
    return labels.astype(np.int64)


def _grouped_by_rank(query: np.ndarray, rank: np.ndarray) -> bool:
    """Whether each query's elements are consecutive and in rising rank."""
    if len(query) < 2:
        return True
    change = query[1:] != query[:-1]
    if not bool(np.all(change | (rank[1:] > rank[:-1]))):
        return False
    return int(np.count_nonzero(change)) + 1 == int(np.count_nonzero(np.bincount(query)))


def _rank_in_group(group: np.ndarray) -> np.ndarray:
    """1-based position of each element within its run of equal consecutive group numbers."""
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    index = np.arange(n, dtype=np.int64)
    head = np.ones(n, dtype=bool)
    head[1:] = group[1:] != group[:-1]
    return index - np.maximum.accumulate(np.where(head, index, 0)) + 1
