"""Every supported source gives the same items; joins, selections and Hub handling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fqeval.data import CRITERIA_ORDER, EvalData, data_stats, load_data
from fqeval.data._criteria import load_criteria
from fqeval.errors import DataError, UsageError
from tests.data._build import HEADER, flat_rows, nested_sets, write_csv, write_jsonl

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def reference(tmp_path: Path) -> EvalData:
    return load_data(write_csv(tmp_path / "ref.csv", flat_rows(3)))


def _same_items(a: EvalData, b: EvalData) -> None:
    assert a.systems == b.systems
    assert a.items == b.items


def test_csv_items(reference: EvalData) -> None:
    assert reference.systems == ("final_fq", "mine")
    assert len(reference.items) == 15 and len(reference.qa_pairs) == 3
    item = reference.items[6]
    assert item.key == ("q_0002", "Contextual Relevance")
    assert dict(item.candidates) == {
        "final_fq": "Benchmark follow-up 2.2?",
        "mine": "My follow-up 2.2?",
    }
    assert item.fq_id == "fq_0007"
    assert item.qa.answer == "Water plant 2 once a week.\nCheck the soil first."
    # No criteria_desc in the rows: the registry's definition is used.
    assert item.criterion.definition == load_criteria()["Contextual Relevance"].definition


def test_tsv_jsonl_json_and_parquet_match_csv(tmp_path: Path, reference: EvalData) -> None:
    rows = flat_rows(3)
    tsv = write_csv(tmp_path / "items.tsv", rows, delimiter="\t")
    jsonl = write_jsonl(tmp_path / "items.jsonl", rows)
    as_json = tmp_path / "items.json"
    as_json.write_text(json.dumps(rows), encoding="utf-8")
    parquet = tmp_path / "items.parquet"
    pd.DataFrame(rows).to_parquet(parquet)
    for path in (tsv, jsonl, as_json, parquet):
        _same_items(load_data(path), reference)


def test_nested_json_matches_csv_benchmark_column(tmp_path: Path) -> None:
    path = tmp_path / "FQ-Eval.json"
    path.write_text(json.dumps(nested_sets(3)), encoding="utf-8")
    nested = load_data(path)
    flat = load_data(write_csv(tmp_path / "ref.csv", flat_rows(3)), systems=["final_fq"])
    assert [i.key for i in nested.items] == [i.key for i in flat.items]
    assert [dict(i.candidates) for i in nested.items] == [dict(i.candidates) for i in flat.items]
    assert nested.items[0].qa.topic == "watering"


def test_text_like_missing_values_stay_text(tmp_path: Path) -> None:
    rows = flat_rows(1)
    rows[0]["mine"] = "None"
    rows[1]["mine"] = "NA"
    rows[2]["mine"] = "null"
    for path in (write_csv(tmp_path / "a.csv", rows), write_jsonl(tmp_path / "a.jsonl", rows)):
        items = load_data(path).items
        assert [items[i].candidates["mine"] for i in range(3)] == ["None", "NA", "null"]


def test_saved_dataset_directory_matches_csv(tmp_path: Path, reference: EvalData) -> None:
    import datasets

    saved = tmp_path / "saved"
    datasets.Dataset.from_pandas(pd.DataFrame(flat_rows(3))).save_to_disk(str(saved))
    loaded = load_data(saved)
    _same_items(loaded, reference)
    assert loaded.extra["format"] == "hf-disk"
    as_dict = tmp_path / "saved_dict"
    datasets.DatasetDict({"test": datasets.Dataset.from_list(flat_rows(3))}).save_to_disk(
        str(as_dict)
    )
    _same_items(load_data(as_dict), reference)


def test_folder_with_one_data_file_is_read(tmp_path: Path, reference: EvalData) -> None:
    # metadata beside the data, a README and subfolders are not data (folders of several
    # data files are refused: tests/data/test_edges_input.py)
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    write_jsonl(folder / "items.jsonl", flat_rows(3))
    (folder / "items_metadata.json").write_text(json.dumps(nested_sets(3)), encoding="utf-8")
    (folder / "README.md").write_text("not data", encoding="utf-8")
    (folder / "sub" / "other.json").write_text("{}", encoding="utf-8")
    _same_items(load_data(folder), reference)


def test_columns_after_base_columns_are_systems_in_order(tmp_path: Path) -> None:
    header = (*HEADER, "zeta", "alpha")
    rows = [dict(row, zeta="Z?", alpha="A?") for row in flat_rows(1)]
    data = load_data(write_csv(tmp_path / "d.csv", rows, header))
    assert data.systems == ("final_fq", "mine", "zeta", "alpha")
    assert list(data.items[0].candidates) == ["final_fq", "mine", "zeta", "alpha"]


def test_metadata_join_fills_empty_fields_only(tmp_path: Path) -> None:
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps(nested_sets(2)), encoding="utf-8")
    rows = flat_rows(3)
    data = load_data(write_csv(tmp_path / "d.csv", rows), metadata=meta)
    qa = {q.question_id: q for q in data.qa_pairs}
    assert qa["q_0001"].category == "Learning & Education"
    assert (qa["q_0002"].intent, qa["q_0002"].topic) == ("care for a plant", "watering")
    assert qa["q_0003"].category == ""  # not in the metadata file
    assert data.extra["metadata_unmatched"] == 1
    assert data_stats(data)["categories"] == {"Learning & Education": 2, "unknown": 1}


def test_demo_csv_with_its_metadata(tmp_path: Path) -> None:
    demo = REPO / "data" / "demo"
    data = load_data(demo / "demo.csv", metadata=demo / "demo_metadata.json")
    assert len(data_stats(data)["categories"]) == 6
    assert data.extra["metadata_unmatched"] == 0


def test_extra_systems_by_question_and_by_item(tmp_path: Path) -> None:
    base = write_csv(tmp_path / "d.csv", flat_rows(2))
    per_question = write_csv(
        tmp_path / "other.csv",
        [
            {"question_id": "q_0001", "follow_up": "Q1 for all?"},
            {"question_id": "q_0002", "follow_up": "Q2 for all?"},
        ],
        header=("question_id", "follow_up"),
    )
    per_item = write_jsonl(
        tmp_path / "third.jsonl",
        [
            {"question_id": q, "criterion": key, "third": f"{q} {key}?"}
            for q in ("q_0001", "q_0002")
            for key in (
                "exploratory_scope",
                "contextual_relevance",
                "creative_leap",
                "llm_enablement",
                "guided_onboarding",
            )
        ],
    )
    data = load_data(base, extra_systems={"other": per_question, "third": per_item})
    assert data.systems == ("final_fq", "mine", "other", "third")
    item = data.items[7]
    assert item.key == ("q_0002", "Creative Leap")
    assert item.candidates["other"] == "Q2 for all?"
    assert item.candidates["third"] == "q_0002 creative_leap?"


def test_item_row_wins_over_question_row_in_extra_file(tmp_path: Path) -> None:
    base = write_csv(tmp_path / "d.csv", flat_rows(1))
    extra = write_csv(
        tmp_path / "x.csv",
        [
            {"question_id": "q_0001", "criteria_name": "", "fq": "General?"},
            {"question_id": "q_0001", "criteria_name": "Creative Leap", "fq": "Wild?"},
        ],
        header=("question_id", "criteria_name", "fq"),
    )
    data = load_data(base, extra_systems={"x": extra})
    assert [item.candidates["x"] for item in data.items] == [
        "General?",
        "General?",
        "Wild?",
        "General?",
        "General?",
    ]


def test_systems_criteria_and_limit_selections(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", flat_rows(3))
    data = load_data(
        path, systems=["mine", "final_fq"], criteria=["LLM ENABLEMENT", "Creative Leap"]
    )
    assert data.systems == ("mine", "final_fq")
    assert [i.key for i in data.items] == [
        (q, c) for q in ("q_0001", "q_0002", "q_0003") for c in ("Creative Leap", "LLM Enablement")
    ]
    limited = load_data(path, limit=2)
    assert len(limited.items) == 10 and len(limited.qa_pairs) == 2
    assert len(load_data(path, limit=99).items) == 15
    with pytest.raises(UsageError, match=r"^--limit"):
        load_data(path, limit=0)


def test_allow_missing_skips_and_counts(tmp_path: Path) -> None:
    rows = flat_rows(2)
    rows[3]["mine"] = "   "
    rows[8]["mine"] = ""
    path = write_csv(tmp_path / "d.csv", rows)
    data = load_data(path, allow_missing=True)
    assert data.missing_candidates == 2
    assert data.items[3].missing == ("mine",) and "mine" not in data.items[3].candidates
    assert data.items[3].candidates["final_fq"] == "Benchmark follow-up 1.4?"
    assert sum(len(item.missing) for item in data.items) == 2
    stats = data_stats(data)
    assert stats["candidates"] == {"final_fq": 10, "mine": 8}
    assert stats["missing_candidates"] == 2
    # Not selected, so not checked: the empty texts are in an unselected system.
    assert load_data(path, systems=["final_fq"]).missing_candidates == 0


def test_criteria_file_beats_row_definitions(tmp_path: Path) -> None:
    rows = flat_rows(1)
    for row in rows:
        row["criteria_desc"] = f"Row definition of {row['criteria_name']}."
    path = write_csv(tmp_path / "d.csv", rows)
    user = tmp_path / "criteria.yaml"
    user.write_text(
        "criteria:\n  - name: creative_leap\n    definition: Our own creative definition.\n",
        encoding="utf-8",
    )
    by_name = {i.criterion.name: i.criterion.definition for i in load_data(path).items}
    assert by_name["Creative Leap"] == "Row definition of Creative Leap."
    overridden = {
        i.criterion.name: i.criterion.definition for i in load_data(path, criteria_file=user).items
    }
    assert overridden["Creative Leap"] == "Our own creative definition."
    assert overridden["Guided Onboarding"] == "Row definition of Guided Onboarding."


def test_user_criteria_file_adds_a_criterion(tmp_path: Path) -> None:
    rows = flat_rows(1)
    rows[0]["criteria_name"] = "Brevity"
    path = write_csv(tmp_path / "d.csv", rows)
    with pytest.raises(DataError, match="unknown criterion 'Brevity'"):
        load_data(path)
    user = tmp_path / "c.yaml"
    user.write_text("criteria:\n  - name: Brevity\n    definition: Short is good.\n", "utf-8")
    data = load_data(path, criteria_file=user, criteria=["brevity"])
    assert data.items[0].criterion.definition == "Short is good."
    assert data.criteria == ("Brevity",)


def _run_cli(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # A subprocess, because huggingface_hub reads the offline/endpoint variables at import.
    # Its timeout guards against a hang: datasets' own retry loop on a dead Hub takes ~25 s.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env.update(env_extra)
    code = "import sys; from fqeval.cli._app import run_app; sys.exit(run_app(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=20,
        cwd=REPO,
    )


def test_hub_id_offline_fails_fast_with_one_line(tmp_path: Path) -> None:
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    result = _run_cli(["data", "validate", "hf:fqeval-test/not-cached"], env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: hf:fqeval-test/not-cached: cannot load the Hub dataset")
    assert "offline" in result.stderr


def test_unreachable_hub_fails_fast_with_one_line(tmp_path: Path) -> None:
    # A bare owner/name that is no local path is a Hub id; port 1 on loopback refuses at once.
    env = {"HF_ENDPOINT": "http://127.0.0.1:1", "HF_HOME": str(tmp_path / "hf")}
    result = _run_cli(["data", "stats", "fqeval-test/not-there"], env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "cannot reach the Hugging Face Hub at http://127.0.0.1:1" in result.stderr
    assert "HF_HUB_OFFLINE=1" in result.stderr


def test_criteria_order_constant_matches_registry() -> None:
    assert tuple(load_criteria()) == CRITERIA_ORDER
