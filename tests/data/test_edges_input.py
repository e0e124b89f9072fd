"""Inputs as users have them: huge CSV cells, data folders, UTF-16/32 files, bad price tables.

Every refusal is exit 2 and one line on stderr naming the file (and line, column or option),
with nothing created under ``--out`` or in the store.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fqeval.cli._app import run_app
from fqeval.data import load_data
from fqeval.errors import DataError
from tests.data._build import flat_rows, nested_sets, write_csv, write_jsonl

REPO = Path(__file__).resolve().parents[2]
DEMO_DIR = REPO / "data" / "demo"


def _cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run_app([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0].removeprefix("error: ")


def _refused_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data: Path, *extra: object
) -> str:
    """``run nway`` on ``data`` must exit 2 with one line and create neither --out nor the store."""
    out, store = tmp_path / "out", tmp_path / "store.sqlite"
    code, _, err = _cli(
        capsys,
        "run", "nway", "--data", data, "--judge", "heuristic", "--out", out, "--store", store,
        *extra,
    )  # fmt: skip
    assert code == 2, err
    assert not out.exists() and not store.exists()
    return _one_error_line(err)


# ------------------------------------------------------------------ 1. huge CSV cells


def test_csv_with_a_1_mb_cell_is_read_like_the_same_jsonl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = flat_rows(2)
    big = "Long answer. " * 80_000 + "End?"  # ~1 MB, far above csv's 128 KiB default limit
    assert len(big) > 1_000_000
    for row in rows[:5]:  # the five criteria rows of one QA pair share its answer
        row["answer"] = big
    rows[3]["mine"] = big
    csv_path = write_csv(tmp_path / "big.csv", rows)
    from_csv = load_data(csv_path)
    from_jsonl = load_data(write_jsonl(tmp_path / "big.jsonl", rows))
    assert from_csv.items == from_jsonl.items
    assert from_csv.items[0].qa.answer == big.strip()
    assert from_csv.items[3].candidates["mine"] == big.strip()
    code, out, err = _cli(capsys, "data", "validate", csv_path)
    assert (code, err) == (0, ""), err
    assert out.startswith("ok: 2 QA pairs, 10 items")


# ------------------------------------------------------------------ 2. directories


def test_demo_folder_is_its_one_data_file(capsys: pytest.CaptureFixture[str]) -> None:
    # demo_metadata.json (the shape --metadata takes) and README.md are not data
    code, out, err = _cli(capsys, "data", "validate", DEMO_DIR)
    assert (code, err) == (0, ""), err
    assert out == "ok: 12 QA pairs, 60 items, systems: final_fq, sys_a, sys_b\n"
    assert load_data(DEMO_DIR).items == load_data(DEMO_DIR / "demo.csv").items


def test_files_below_the_folder_are_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "scratch"
    (folder / "notes" / "deep").mkdir(parents=True)
    write_csv(folder / "items.csv", flat_rows(2))
    (folder / "notes" / "config.json").write_text('{"unrelated": true}', encoding="utf-8")
    (folder / "notes" / "deep" / "broken.csv").write_text('a,"b\n', encoding="utf-8")
    (folder / ".hidden.jsonl").write_text("not json\n", encoding="utf-8")
    (folder / "metadata.json").write_text(json.dumps(nested_sets(2)), encoding="utf-8")
    data = load_data(folder)
    assert len(data.items) == 10 and data.extra["files"] == [str(folder / "items.csv")]


def test_folder_of_several_data_files_lists_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    write_csv(folder / "a.csv", flat_rows(1))
    write_jsonl(folder / "b.jsonl", flat_rows(1))
    (folder / "c.json").write_text(json.dumps(flat_rows(1)), encoding="utf-8")
    (folder / "c_metadata.json").write_text(json.dumps(nested_sets(1)), encoding="utf-8")
    expected = f"{folder} holds 3 data files (a.csv, b.jsonl, c.json): pass one with --data"
    with pytest.raises(DataError) as caught:
        load_data(folder)
    assert str(caught.value) == expected
    code, _, err = _cli(capsys, "data", "validate", folder)
    assert code == 2 and _one_error_line(err) == expected
    assert _refused_run(capsys, tmp_path, folder) == expected


def test_long_lists_of_files_are_cut(tmp_path: Path) -> None:
    for n in range(9):
        write_jsonl(tmp_path / f"part{n}.jsonl", flat_rows(1))
    with pytest.raises(DataError, match=r"holds 9 data files \(part0.jsonl, .*part5.jsonl, "
                       r"\.\.\. \(3 more\)\): pass one with --data$"):  # fmt: skip
        load_data(tmp_path)


def test_folder_without_data_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "sub").mkdir()
    write_csv(tmp_path / "sub" / "items.csv", flat_rows(1))
    (tmp_path / "README.md").write_text("hello", encoding="utf-8")
    line = _refused_run(capsys, tmp_path, tmp_path)
    assert line.startswith(f"{tmp_path}: directory has no data file (")


def test_saved_datasets_win_over_the_files_beside_them(tmp_path: Path) -> None:
    import datasets

    saved = tmp_path / "saved"
    datasets.Dataset.from_list(flat_rows(2)).save_to_disk(str(saved))
    write_csv(saved / "stray.csv", flat_rows(1))  # not looked at: the folder is a dataset
    data = load_data(saved)
    assert data.extra["format"] == "hf-disk" and len(data.items) == 10
    as_dict = tmp_path / "saved_dict"
    datasets.DatasetDict({"test": datasets.Dataset.from_list(flat_rows(2))}).save_to_disk(
        str(as_dict)
    )
    assert len(load_data(as_dict).items) == 10


# ------------------------------------------------------------------ 3. UTF-16 and UTF-32


@pytest.mark.parametrize(
    ("codec", "name", "suffix"),
    [
        ("utf-16-le", "UTF-16 (little-endian)", ".csv"),  # no BOM: the NUL pattern tells
        ("utf-16-be", "UTF-16 (big-endian)", ".csv"),
        ("utf-16", "UTF-16 (little-endian)", ".csv"),  # with a BOM
        ("utf-32-le", "UTF-32 (little-endian)", ".jsonl"),
        ("utf-32", "UTF-32 (little-endian)", ".tsv"),
        ("utf-16-le", "UTF-16 (little-endian)", ".json"),
        ("utf-16-le", "UTF-16 (little-endian)", ""),  # format sniffed from the content
    ],
)
def test_utf16_and_utf32_files_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], codec: str, name: str, suffix: str
) -> None:
    source = write_csv(
        tmp_path / "src.csv", flat_rows(2), delimiter="\t" if suffix == ".tsv" else ","
    )
    text = source.read_text(encoding="utf-8")
    if suffix in (".jsonl", ".json"):
        text = write_jsonl(tmp_path / "src.jsonl", flat_rows(2)).read_text(encoding="utf-8")
        if suffix == ".json":
            text = json.dumps(flat_rows(2))
    path = tmp_path / f"wide{suffix}"
    path.write_bytes(text.encode(codec))
    expected = f"{path}: file looks like {name} text; save it as UTF-8"
    code, _, err = _cli(capsys, "data", "validate", path)
    assert code == 2 and _one_error_line(err) == expected
    assert _refused_run(capsys, tmp_path, path) == expected


def test_utf16_metadata_and_extra_system_files_are_named(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", flat_rows(2))
    meta = tmp_path / "meta.json"
    meta.write_bytes(json.dumps(nested_sets(2)).encode("utf-16-le"))
    with pytest.raises(DataError, match=r"meta.json: file looks like UTF-16 \(little-endian\)"):
        load_data(data, metadata=meta)
    extra = tmp_path / "extra.csv"
    extra.write_bytes("question_id,follow_up\nq_0001,Why?\n".encode("utf-16-be"))
    with pytest.raises(DataError, match=r"extra.csv: file looks like UTF-16 \(big-endian\)"):
        load_data(data, extra_systems={"x": extra})


def test_utf8_with_bom_and_non_latin_text_still_reads(tmp_path: Path) -> None:
    rows = flat_rows(1)
    rows[0]["mine"] = "植物に水をやるべきですか？"
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + write_csv(tmp_path / "x.csv", rows).read_bytes())
    assert load_data(path).items[0].candidates["mine"] == "植物に水をやるべきですか？"


# ------------------------------------------------------------------ 4. --prices


@pytest.fixture
def no_user_prices(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("FQEVAL_PRICES", raising=False)


@pytest.mark.usefixtures("no_user_prices")
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "models:\n  gpt-4.1: {input: 2.0, output: 8.0}\n  m: x: 3\n",
            "line 3, column 7: not valid YAML (mapping values are not allowed here)",
        ),
        ("models:\n\tm: {input: 1}\n", "line 2, column 1: not valid YAML (found character"),
        ("models: {m: {input: [", "line 1, column 22: not valid YAML (expected the node"),
        ("models:\n  m: {input: -1}\n", "model 'm', 'input': expected a number >= 0"),
        ("models:\n  m: {output: .nan}\n", "model 'm', 'output': expected a number >= 0"),
        ("models:\n  m: {input: '2'}\n", "model 'm', 'input': expected a number >= 0"),
        ("models:\n  m: {input: true}\n", "model 'm', 'input': expected a number >= 0"),
        ("models:\n  m: 3\n", "model 'm': expected input/output prices like"),
        ("models:\n  m: {input: 1, outptu: 2}\n", "model 'm': unknown field(s) outptu"),
        ("- a list\n", "a price table needs a top-level 'models:' mapping"),
        ("models: {}\nextra: 1\n", "unknown top-level key(s) extra"),
    ],
)
def test_bad_price_table_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text(text, encoding="utf-8")
    data = write_csv(tmp_path / "d.csv", flat_rows(1))
    line = _refused_run(capsys, tmp_path, data, "--prices", prices)
    assert line.startswith(f"{prices}: {message}"), line


@pytest.mark.usefixtures("no_user_prices")
def test_price_table_not_utf8_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_bytes(b"models:\n  caf\xe9: {input: 1}\n")
    data = write_csv(tmp_path / "d.csv", flat_rows(1))
    line = _refused_run(capsys, tmp_path, data, "--prices", prices)
    assert line == f"{prices}: line 2: not UTF-8 text (byte 0xe9 at offset 13); save it as UTF-8"
