"""Readers: a path (file, directory or Hub id) to a :class:`RawTable` of text cells.

CSV is parsed with the standard ``csv`` module in strict mode rather than pandas: every cell
stays text (``"None"`` and ``"NA"`` are follow-ups, not missing values), and the reader knows
the physical line each row starts on, so errors can name it. Parquet goes through pandas
(pyarrow); saved Hugging Face datasets and Hub ids through ``datasets`` (see ``_hub``).
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from fqeval.data._table import (
    RawTable,
    Row,
    check_required,
    is_ignored_column,
    normalise_columns,
    records_table,
    row_label,
)
from fqeval.errors import DataError

#: File suffixes read as data (lower case) -> format.
SUFFIX_FORMATS: Mapping[str, str] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
#: Files a ``save_to_disk`` directory holds at its top (a Dataset, or a DatasetDict).
SAVED_DATASET_FILES: tuple[str, ...] = ("dataset_info.json", "state.json", "dataset_dict.json")
#: Data-suffixed files of a folder that are not item data: metadata beside the data
#: (``demo_metadata.json``, the shape ``--metadata`` takes) and dataset descriptions.
_NOT_DATA_NAMES = frozenset({*SAVED_DATASET_FILES, "dataset_infos.json"})
_METADATA_STEM = re.compile(r"(?:^|[_.-])metadata$", re.IGNORECASE)
#: Byte order marks, longest first (UTF-32 LE starts like UTF-16 LE).
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe\x00\x00", "UTF-32 (little-endian)"),
    (b"\x00\x00\xfe\xff", "UTF-32 (big-endian)"),
    (b"\xff\xfe", "UTF-16 (little-endian)"),
    (b"\xfe\xff", "UTF-16 (big-endian)"),
)


def read_table(spec: str | Path, required: Sequence[str]) -> RawTable:
    """Read ``spec`` and check that it has the ``required`` columns.

    ``spec`` is a data file, a directory (a dataset saved with ``save_to_disk``, or a folder
    with one data file), ``hf:owner/name``, or ``owner/name`` when no such local path exists.
    """
    text = str(spec)
    if text.startswith("hf:"):
        from fqeval.data._hub import read_hub

        table = read_hub(text[3:])
        check_required(table, required)
        return table
    path = Path(text).expanduser()
    if path.is_dir():
        return _read_directory(path, required)
    if path.is_file():
        table = read_file(path)
        check_required(table, required)
        return table
    if path.exists():
        raise DataError(f"{path}: not a regular file or directory")
    if _looks_like_hub_id(text):
        from fqeval.data._hub import read_hub

        table = read_hub(text)
        check_required(table, required)
        return table
    raise DataError(f"{path}: no such file or directory")


def _looks_like_hub_id(text: str) -> bool:
    if not _HUB_ID.match(text) or Path(text).suffix.lower() in SUFFIX_FORMATS:
        return False
    # "reports/x" next to an existing reports/ folder is a mistyped local path, not a Hub id.
    return not Path(text.split("/", 1)[0]).exists()


def read_file(path: Path) -> RawTable:
    """Read one data file; the format comes from the suffix, or from the content when unknown."""
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt == "parquet":
        return _read_parquet(path)
    data = _read_bytes(path)
    if fmt is None:
        if data.startswith(b"PAR1"):
            return _read_parquet(path)
        first = data.lstrip()[:1]
        fmt = "json" if first in (b"[", b"{") else "csv"
    text = decode_utf8(path, data)
    if fmt == "json":
        return _read_json(path, text)
    if fmt == "jsonl":
        return _read_jsonl(path, text)
    return _read_csv(path, text, "\t" if fmt == "tsv" else ",", fmt)


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror})") from None
    if not data.strip():
        raise DataError(f"{path}: file is empty")
    return data


def decode_utf8(path: Path, data: bytes) -> str:
    """Decode UTF-8 (a BOM is dropped); a bad byte is reported with its offset and line.

    UTF-16 and UTF-32 text (a byte order mark, or NUL bytes in every other or three of every
    four positions) is named as such rather than read as garbled fields.
    """
    encoding = sniff_wide_encoding(data)
    if encoding is not None:
        raise DataError(f"{path}: file looks like {encoding} text; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        byte = data[err.start : err.start + 1].hex()
        raise DataError(
            f"{path}: line {line}: not UTF-8 text (byte 0x{byte} at offset {err.start}); "
            "save the file as UTF-8"
        ) from None


def sniff_wide_encoding(data: bytes) -> str | None:
    """``"UTF-16 (little-endian)"`` and the like when ``data`` looks like UTF-16/32, else None.

    A byte order mark decides. Without one, the first 4 KiB decide: mostly ASCII text in
    UTF-16 has a NUL in every other byte (odd positions for little-endian), in UTF-32 three
    NULs in every four; UTF-8 text has no NUL at all.
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    sample = data[:4096]
    sample = sample[: len(sample) - len(sample) % 4]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    share = [_nul_share(sample[i::4]) for i in range(4)]
    if min(share[1:]) > 0.9 and share[0] < 0.1:
        return "UTF-32 (little-endian)"
    if min(share[:3]) > 0.9 and share[3] < 0.1:
        return "UTF-32 (big-endian)"
    even, odd = (share[0] + share[2]) / 2, (share[1] + share[3]) / 2
    if odd > 0.6 and even < 0.1:
        return "UTF-16 (little-endian)"
    if even > 0.6 and odd < 0.1:
        return "UTF-16 (big-endian)"
    return None


def _nul_share(data: bytes) -> float:
    return data.count(0) / len(data) if data else 0.0


def _allow_large_fields() -> None:
    """Lift the csv module's per-field limit (128 KiB by default) as far as the platform
    allows: a long answer is valid data, and JSON Lines has no such limit either."""
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:  # a C long is 32 bits on some platforms
            limit //= 2


def _read_csv(path: Path, text: str, delimiter: str, fmt: str) -> RawTable:
    _allow_large_fields()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    file = str(path)
    rows: list[Row] = []
    start = 1
    try:
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}: file is empty")
        names, labels = normalise_columns(header)
        _check_header(path, names)
        start = reader.line_num + 1
        for cells in reader:
            if not any(cell.strip() for cell in cells):  # blank line or a row of empty cells
                start = reader.line_num + 1
                continue
            number = len(rows) + 1
            if len(cells) != len(names):
                hint = "an unquoted delimiter?" if len(cells) > len(names) else "truncated?"
                raise DataError(
                    f"{path}: {row_label(number, start)}: {len(cells)} fields, but the header "
                    f"has {len(names)} ({hint})"
                )
            values = {n: c for n, c in zip(names, cells, strict=True) if not is_ignored_column(n)}
            rows.append(Row(values, file, row_label(number, start)))
            start = reader.line_num + 1
    except csv.Error as err:
        number = len(rows) + 1
        if "unexpected end of data" in str(err):
            raise DataError(
                f"{path}: {row_label(number, start)}: unclosed quote (the file ends inside a "
                "quoted field; truncated?)"
            ) from None
        raise DataError(
            f"{path}: {row_label(number, start)}: malformed {fmt.upper()} near line "
            f"{reader.line_num}: {err}"
        ) from None
    if not rows:
        raise DataError(f"{path}: no data rows after the header")
    columns = [n for n in names if not is_ignored_column(n)]
    return RawTable(str(path), fmt, columns, rows, labels, [file])


def _check_header(path: Path, names: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise DataError(f"{path}: line 1, column '{name}': duplicate column name")
        seen.add(name)


def _read_json(path: Path, text: str) -> RawTable:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        if err.msg == "Extra data" and text.lstrip().startswith("{"):
            return _read_jsonl(path, text)  # JSON Lines saved as .json
        problem = err.msg.removesuffix(" starting at")
        truncated = err.pos >= len(text.rstrip()) or problem == "Unterminated string"
        raise DataError(
            f"{path}: line {err.lineno}, column {err.colno}: malformed JSON: {problem}"
            + (" (file truncated?)" if truncated else "")
        ) from None
    if isinstance(document, dict) and "qa_pairs" in document:
        document = [document]
    if not isinstance(document, list):
        raise DataError(
            f"{path}: expected a JSON list (FQ-Eval sets or item records), "
            f"found a {type(document).__name__}"
        )
    if not document:
        raise DataError(f"{path}: the JSON list is empty")
    if isinstance(document[0], dict) and "qa_pairs" in document[0]:
        from fqeval.data._nested import flatten_fq_eval

        return flatten_fq_eval(path, document)
    return records_table(str(path), "json", _records(path, document), str(path))


def _records(path: Path, document: list[object]) -> Iterator[tuple[Mapping[str, object], str]]:
    for number, record in enumerate(document, start=1):
        if not isinstance(record, dict):
            raise DataError(f"{path}: row {number}: expected a JSON object")
        yield record, f"row {number}"


def _read_jsonl(path: Path, text: str) -> RawTable:
    records: list[tuple[Mapping[str, object], str]] = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        number = len(records) + 1
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(
                f"{path}: {row_label(number, line_number, header_lines=0)}: malformed JSON at "
                f"column {err.colno}: {err.msg.removesuffix(' starting at')}"
            ) from None
        if not isinstance(record, dict):
            raise DataError(
                f"{path}: {row_label(number, line_number, header_lines=0)}: expected a JSON object"
            )
        records.append((record, row_label(number, line_number, header_lines=0)))
    return records_table(str(path), "jsonl", records, str(path))


def _read_parquet(path: Path) -> RawTable:
    import pandas as pd

    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty")
    try:
        frame = pd.read_parquet(path)
    except Exception as err:  # pyarrow raises its own types for corrupt or truncated files
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(f"{path}: not a readable Parquet file: {message}") from None
    if frame.empty:
        raise DataError(f"{path}: no data rows")
    records = frame.to_dict("records")
    return records_table(
        str(path),
        "parquet",
        ((record, f"row {n}") for n, record in enumerate(records, start=1)),
        str(path),
    )


def _read_directory(path: Path, required: Sequence[str]) -> RawTable:
    """A ``save_to_disk`` directory, or a folder with exactly one data file at its top.

    Hidden files and metadata files (``*_metadata.json`` and the like, the shape
    ``--metadata`` takes; ``dataset_infos.json``) are not data; subfolders are not searched.
    """
    if any((path / name).is_file() for name in SAVED_DATASET_FILES):
        from fqeval.data._hub import read_saved_dataset

        table = read_saved_dataset(path)
        check_required(table, required)
        return table
    try:
        entries = sorted(path.iterdir())
    except OSError as err:
        raise DataError(f"{path}: cannot read the directory ({err.strerror})") from None
    files = [p for p in entries if _is_data_file(p)]
    if not files:
        kinds = ", ".join(sorted(SUFFIX_FORMATS))
        raise DataError(
            f"{path}: directory has no data file ({kinds}) at its top and is not a saved "
            "dataset (dataset_info.json, dataset_dict.json)"
        )
    if len(files) > 1:
        names = [p.name for p in files]
        shown = ", ".join(names[:6]) + (f", ... ({len(names) - 6} more)" if len(names) > 6 else "")
        raise DataError(f"{path} holds {len(files)} data files ({shown}): pass one with --data")
    table = read_file(files[0])
    check_required(table, required)
    return table


def _is_data_file(path: Path) -> bool:
    name = path.name
    if name.startswith(".") or name.lower() in _NOT_DATA_NAMES:
        return False
    if path.suffix.lower() not in SUFFIX_FORMATS or _METADATA_STEM.search(path.stem):
        return False
    return path.is_file()
