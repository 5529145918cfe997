"""The eval's pure parts: metric functions, gold loading, the baseline's node-to-paper rule, the report."""

from __future__ import annotations

import doctest
import json
import random
from pathlib import Path

import numpy as np
import pytest

import qa.evaluation.baseline
import qa.evaluation.evaluate
import qa.evaluation.evaluate_turns
import qa.evaluation.report
from qa.errors import BadInput
from qa.evaluation.baseline import ShingleMap, ranking, shingles, words
from qa.evaluation.evaluate import (
    EvalReport,
    GoldItem,
    Outcome,
    QuestionResult,
    citation_scores,
    dedupe,
    hit_at,
    includes_all,
    load_gold,
    mean,
    missing_groups,
    ndcg_at,
    normalize_answer,
    percentile,
    recall_at,
    reciprocal_rank,
    refusal_scores,
    strip_citations,
    token_f1,
)
from qa.evaluation.evaluate_turns import (
    Conversation,
    ConversationResult,
    ParaphraseResult,
    Turn,
    conversation_summary,
    load_conversations,
    load_paraphrases,
    load_splits,
    paraphrase_summary,
)
from qa.evaluation.report import (
    all_misses,
    answer_summary,
    check_thresholds,
    question_misses,
    retrieval_summary,
    summaries,
    summary,
    write_report,
)
from qa.papers import Paper, Variant


@pytest.mark.parametrize("module", [qa.evaluation.evaluate, qa.evaluation.baseline, qa.evaluation.report,
                                    qa.evaluation.evaluate_turns])
def test_doctests(module: object) -> None:
    failed, tried = doctest.testmod(module, verbose=False)  # type: ignore[arg-type]
    assert tried > 0 and failed == 0


# --- retrieval metrics ---
@pytest.mark.parametrize(("ranked", "relevant", "k", "hit", "recall"), [
    (["a", "b", "c"], {"a"}, 1, 1.0, 1.0),
    (["a", "b", "c"], {"c"}, 2, 0.0, 0.0),
    (["a", "b", "c"], {"c"}, 3, 1.0, 1.0),
    (["a", "b", "c"], {"b", "z"}, 5, 1.0, 0.5),
    ([], {"a"}, 5, 0.0, 0.0),
    (["a"], set(), 5, 0.0, 0.0),
    (["a", "b"], {"a", "b"}, 0, 0.0, 0.0),
])
def test_hit_and_recall(ranked: list[str], relevant: set[str], k: int, hit: float, recall: float) -> None:
    assert hit_at(ranked, relevant, k) == hit
    assert recall_at(ranked, relevant, k) == recall


@pytest.mark.parametrize(("ranked", "relevant", "expected"), [
    (["a", "b"], {"a"}, 1.0),
    (["x", "y", "a"], {"a", "y"}, 0.5),
    ([f"x{i}" for i in range(10)] + ["a"], {"a"}, 0.0),  # beyond the cut-off of 10
    ([], {"a"}, 0.0),
])
def test_reciprocal_rank(ranked: list[str], relevant: set[str], expected: float) -> None:
    assert reciprocal_rank(ranked, relevant) == expected


def test_ndcg() -> None:
    assert ndcg_at(["a", "b", "x"], {"a", "b"}) == 1.0
    expected = (1 / np.log2(3) + 1 / np.log2(4)) / (1 + 1 / np.log2(3))
    assert ndcg_at(["x", "a", "b"], {"a", "b"}) == pytest.approx(expected)
    assert ndcg_at([f"x{i}" for i in range(10)] + ["a"], {"a"}) == 0.0
    # More relevant papers than the cut-off: the ideal ranking fills all k places.
    many = {f"r{i}" for i in range(12)}
    assert ndcg_at(sorted(many), many, k=10) == pytest.approx(1.0)
    assert 0 < ndcg_at(["x", *sorted(many)], many, k=10) < 1


def test_dedupe_keeps_first_occurrence() -> None:
    assert dedupe(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]
    assert dedupe([]) == []


# --- answer metrics ---
@pytest.mark.parametrize(("text", "expected"), [
    ("The answer, an apple & a pear!", "answer apple pear"),
    ("  Qwen2.5-Coder   uses\nthe 5.5 trillion tokens. ", "qwen25coder uses 55 trillion tokens"),
    ("", ""),
    ("Theory and anthem", "theory and anthem"),  # articles only as whole words
])
def test_normalize_answer(text: str, expected: str) -> None:
    assert normalize_answer(text) == expected


@pytest.mark.parametrize(("prediction", "reference", "expected"), [
    ("119 languages", "119 languages", 1.0),
    ("The 119 languages.", "119 languages", 1.0),
    ("nothing shared", "119 languages", 0.0),
    ("x x y", "x y", 0.8),  # repeated tokens count once per occurrence in the reference
    ("", "", 1.0),
    ("the", "a", 1.0),  # both empty after normalisation
    ("", "x", 0.0),
])
def test_token_f1(prediction: str, reference: str, expected: float) -> None:
    assert token_f1(prediction, reference) == pytest.approx(expected)


def test_strip_citations_removes_every_key_form() -> None:
    text = "A [arXiv:2505.09388] B [doc:0123456789ab] C [arXiv:2501.01257; doc:0123456789ab] D [not a key]"
    assert strip_citations(text).split() == ["A", "B", "C", "D", "[not", "a", "key]"]


@pytest.mark.parametrize(("answer", "groups", "missing"), [
    ("sizes 0.6B, 4B, 8B", [["0.6b"], ["4B"], ["8B"]], []),
    ("o1-mini scores 1578", [["o1-mini"], ["1578"], ["1261"]], [["1261"]]),
    ("uses Group Sequence Policy Optimization", [["GSPO", "group sequence policy optimization"]], []),
    ("anything", [], []),
    ("", [["x"]], [["x"]]),
])
def test_must_include(answer: str, groups: list[list[str]], missing: list[list[str]]) -> None:
    assert missing_groups(answer, groups) == missing
    assert includes_all(answer, groups) is (not missing)


@pytest.mark.parametrize(("cited", "gold", "expected"), [
    (["a"], ["a"], (1.0, 1.0)),
    (["a", "b"], ["a"], (0.5, 1.0)),
    (["a"], ["a", "b"], (1.0, 0.5)),
    (["a", "a"], ["a"], (1.0, 1.0)),
    ([], ["a"], (0.0, 0.0)),
    (["a"], [], (0.0, 0.0)),
])
def test_citation_scores(cited: list[str], gold: list[str], expected: tuple[float, float]) -> None:
    assert citation_scores(cited, gold) == expected


@pytest.mark.parametrize(("pairs", "expected"), [
    ([(False, True), (False, True), (True, False)], (1.0, 1.0)),
    ([(False, True), (True, True)], (0.5, 1.0)),  # one wrong refusal
    ([(False, False), (False, True)], (1.0, 0.5)),  # one unanswerable question answered
    ([(True, False)], (1.0, 1.0)),  # nothing refused, nothing to refuse
    ([(False, False)], (1.0, 0.0)),  # nothing refused, but it should have been
    ([], (1.0, 1.0)),
])
def test_refusal_scores(pairs: list[tuple[bool, bool]], expected: tuple[float, float]) -> None:
    assert refusal_scores(pairs) == expected


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("q", [0, 5, 50, 95, 100])
def test_percentile_matches_numpy(seed: int, q: float) -> None:
    rng = random.Random(seed)
    values = [rng.uniform(0, 3) for _ in range(rng.randint(1, 40))]
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_and_mean_of_nothing() -> None:
    assert percentile([], 95) == 0.0
    assert mean([]) == 0.0


# --- the gate ---
def test_check_thresholds() -> None:
    figures = {"retrieval": {"hybrid": {"hit@5": 0.96}},
               "answers": {"extractive": {"refusal_recall": 0.89, "fabricated_citations": 0, "latency_p95_s": 3.5}}}
    thresholds = {"retrieval": {"hybrid": {"hit@5": 0.95}},
                  "answers": {"extractive": {"refusal_recall": 0.9,
                                             "max": {"fabricated_citations": 0, "latency_p95_s": 3.0}}}}
    assert check_thresholds(figures, thresholds) == [
        "answers.extractive.refusal_recall = 0.89 < 0.9",
        "answers.extractive.latency_p95_s = 3.5 > 3",
    ]
    assert check_thresholds(figures, {"retrieval": {"hybrid": {"hit@5": 0.96}}}) == []  # equal passes
    assert check_thresholds(figures, {"answers": {"llm": {"must_include": 0.5}}}) == [
        "answers.llm.must_include was not measured"]


# --- gold loading ---
GOLD_LINE = {"id": "q001", "question": "Q?", "answer": "A.", "must_include": [["A"]],
             "gold_keys": ["arXiv:2505.09388"], "answerable": True, "category": "fact"}


def test_load_gold(tmp_path: Path) -> None:
    path = tmp_path / "gold.jsonl"
    path.write_text(json.dumps(GOLD_LINE) + "\n\n" + json.dumps({**GOLD_LINE, "id": "q002"}) + "\n")
    items = load_gold(path)
    assert [i.id for i in items] == ["q001", "q002"]
    assert items[0].must_include == [["A"]] and items[0].answerable is True


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "line 1 is not a gold item"),
    (json.dumps({**GOLD_LINE, "extra": 1}), "line 1 is not a gold item"),
    (json.dumps({k: v for k, v in GOLD_LINE.items() if k != "answer"}), "line 1 is not a gold item"),
    (json.dumps([1, 2]), "line 1 is not a gold item"),
    ("\n\n", "no gold questions"),
    (None, "cannot read"),
])
def test_load_gold_rejects(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "gold.jsonl"
    if content is not None:
        path.write_text(content)
    with pytest.raises(BadInput, match=message):
        load_gold(path)


# --- the baseline's node-to-paper rule ---
A = ("Alpha papers study the long context behaviour of large language models trained on synthetic data "
     "and report that retrieval heads matter most for accuracy on needle tests")
B = ("Beta papers propose a sparse gating mechanism for attention that removes the attention sink and "
     "improves stability of training at large scale for mixture of experts models")


def shingle_map() -> ShingleMap:
    beta = Paper(B, "2501.00002", variants=[Variant(B), Variant(B.replace("large scale", "huge scale"))])
    return ShingleMap([Paper(A, "2501.00001", variants=[Variant(A)]), beta])


def test_words_and_shingles() -> None:
    assert words("\uff31wen2.5: A-B") == ["qwen2", "5", "a", "b"]  # NFKC folds the full-width Q
    assert list(shingles(["a", "b"], 3)) == []


@pytest.mark.parametrize(("text", "expected"), [
    (A, ["arXiv:2501.00001"]),
    (A + "\n\narXiv:2501.00001\n\n" + B, ["arXiv:2501.00001", "arXiv:2501.00002"]),
    # A node that starts with a long tail of A counts as A, the first paper it contains...
    (" ".join(A.split()[-12:]) + " " + B, ["arXiv:2501.00001", "arXiv:2501.00002"]),
    # ...but a few stray words (fewer than MIN_SHARED shingles) do not make it contain A.
    (" ".join(A.split()[-9:]) + " " + B, ["arXiv:2501.00002"]),
    ("Beta papers propose a sparse gating mechanism for attention that removes the attention sink and "
     "improves stability of training at huge scale", ["arXiv:2501.00002"]),  # the second variant
    ("Header line of a dump file with no abstract", []),
])
def test_papers_in_a_node(text: str, expected: list[str]) -> None:
    papers = shingle_map()
    assert papers.papers_in(text) == expected
    assert papers.paper_of(text) == (expected[0] if expected else None)


def test_ranking_of_nodes() -> None:
    nodes = [["a", "b"], [], ["b", "c"], ["a"], ["d"]]
    assert ranking(nodes) == ["a", "b", "d"]
    assert ranking(nodes, every=True) == ["a", "b", "c", "d"]


# --- a small synthetic run: aggregation, misses and the files ---
def synthetic_report(tmp_path: Path) -> EvalReport:
    fact = GoldItem("q001", "Q1?", "It has 119 languages.", [["119"]], ["arXiv:1"], True, "fact")
    multi = GoldItem("q002", "Q2?", "X and Y.", [["X"], ["Y"]], ["arXiv:1", "doc:2"], True, "multi_paper")
    none = GoldItem("q003", "Q3?", "Not in the corpus.", [], [], False, "unanswerable")
    results = [
        QuestionResult(fact, {"hybrid": ["arXiv:1"], "baseline": ["doc:2", "arXiv:1"]},
                       {"extractive": Outcome("It has 119 languages [arXiv:1].", False, ["arXiv:1"], 0, 0.1)}),
        QuestionResult(multi, {"hybrid": ["doc:9", "doc:8", "doc:7", "doc:6", "doc:5", "arXiv:1"],
                               "baseline": []},
                       {"extractive": Outcome("X | z [arXiv:1] [arXiv:3].", False, ["arXiv:1", "arXiv:3"], 1, 0.3)}),
        QuestionResult(none, {}, {"extractive": Outcome("Nothing.", True, [], 0, 0.2)}),
    ]
    return EvalReport(tmp_path / "gold.jsonl", tmp_path / "store", results, ["extractive"], {"answers": 0.6})


def test_synthetic_figures(tmp_path: Path) -> None:
    report = synthetic_report(tmp_path)
    retrieval = retrieval_summary(report)
    assert retrieval["hybrid"]["hit@1"] == 0.5 and retrieval["hybrid"]["hit@5"] == 0.5
    assert retrieval["hybrid"]["recall@5"] == 0.5
    assert retrieval["baseline"]["mrr"] == pytest.approx(0.25)
    answers = answer_summary(report, "extractive")
    assert answers["must_include"] == 0.5
    assert answers["citation_precision"] == 0.75 and answers["citation_recall"] == 0.75
    assert answers["fabricated_citations"] == 1
    assert answers["refusal_precision"] == 1.0 and answers["refusal_recall"] == 1.0
    assert answers["latency_p50_s"] == pytest.approx(0.2)
    assert "judge_correctness" not in answers


def test_synthetic_misses(tmp_path: Path) -> None:
    report = synthetic_report(tmp_path)
    kinds = [(m.id, m.kind) for r in report.results for m in question_misses(r, report.modes)]
    assert kinds == [("q002", "retrieval@5"), ("q002", "must_include"), ("q002", "missing_citation"),
                     ("q002", "fabricated_citation")]
    wrong = QuestionResult(report.results[0].item, {}, {"extractive": Outcome("No.", True, [], 0, 0.1)})
    said = Outcome("Yes [doc:2]", False, ["doc:2"], 0, 1.0)
    answered = QuestionResult(report.results[2].item, {}, {"extractive": said})
    assert [m.kind for m in question_misses(wrong, ["extractive"])] == ["wrong_refusal"]
    assert [m.kind for m in question_misses(answered, ["extractive"])] == ["wrong_refusal"]


@pytest.mark.slow
def test_write_report(tmp_path: Path) -> None:
    report = synthetic_report(tmp_path)
    written = write_report(report, tmp_path / "out" / "nested")
    assert {p.name for p in written} == {"report.md", "report.json", "retrieval.png", "answers.png", "latency.png"}
    for png in (p for p in written if p.suffix == ".png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (tmp_path / "out" / "nested" / "report.md").read_text()
    assert "| hybrid | 0.500 |" in md and "answer: X \\| z" in md  # pipes in answers are escaped
    data = json.loads((tmp_path / "out" / "nested" / "report.json").read_text())
    assert data["answers"] == summary(report)["answers"]
    assert [q["id"] for q in data["per_question"]] == ["q001", "q002", "q003"]


def test_write_report_to_a_file_fails_cleanly(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a directory")
    with pytest.raises(qa.errors.QAError, match="cannot write the report"):
        write_report(synthetic_report(tmp_path), tmp_path / "taken")


# --- conversations and rewordings ---
def said(text: str, refused: bool = False) -> Outcome:
    return Outcome(text, refused, [], 0, 0.1)


def synthetic_turns(tmp_path: Path) -> EvalReport:
    """The synthetic report with two conversations and rewordings of its first and last question."""
    report = synthetic_report(tmp_path)
    report.split = "dev"
    asked = Turn("Q1?", "119.", [["119"]], ["arXiv:1"], True)
    follow = Turn("And its size?", "8B.", [["8B"]], ["arXiv:1"], True)
    never = Turn("Its price?", "Not stated.", [], [], False)
    report.conversations = [
        ConversationResult(Conversation("c1", "dev", [asked, follow, never]),
                           {"extractive": [said("119 of them"), said("4B"), said("", refused=True)]}),
        ConversationResult(Conversation("c2", "dev", [asked, never]),
                           {"extractive": [said("119"), said("It costs nothing")]}),
    ]
    first, last = report.results[0], report.results[2]  # answered right; refused right
    report.paraphrases = [ParaphraseResult(first, ["R1?", "R2?"], {"extractive": [said("119"), said("no", True)]}),
                          ParaphraseResult(last, ["R3?", "R4?"], {"extractive": [said("", True), said("", True)]})]
    return report


def test_conversation_figures(tmp_path: Path) -> None:
    figures = conversation_summary(synthetic_turns(tmp_path).conversations, "extractive")
    assert figures == {"conversations": 2, "turns": 5, "follow_ups": 3, "unanswerable_turns": 2,
                       "turn_accuracy": 0.6, "conversation_accuracy": 0.0, "follow_up_accuracy": pytest.approx(1 / 3),
                       "refusal_recall": 0.5}
    assert conversation_summary([], "extractive")["refusal_recall"] == 1.0


def test_paraphrase_figures(tmp_path: Path) -> None:
    figures = paraphrase_summary(synthetic_turns(tmp_path).paraphrases, "extractive")
    assert figures == {"questions": 2, "rewordings": 4, "consistent": 0.5, "right_original": 1.0,
                       "right_reworded": 0.75}


def test_turn_and_paraphrase_misses(tmp_path: Path) -> None:
    report = synthetic_turns(tmp_path)
    extra = [(m.id, m.kind, m.detail.split(" -> ")[-1][:30]) for m in all_misses(report) if m.kind != "retrieval@5"
             and m.category in ("conversation", "fact")]
    assert extra == [("c1/2", "turn", "lacks 8B; answer: 4B"), ("c2/2", "turn", "answered an unanswerable quest"),
                     ("q001", "paraphrase", "right: Q1?; right: R1?; WRONG:")]
    figures = summary(report)
    assert figures["split"] == "dev" and figures["conversations"]["extractive"]["turns"] == 5
    assert figures["paraphrases"]["extractive"]["consistent"] == 0.5
    assert figures["categories"]["fact"] == {"questions": 1, "hybrid_hit@5": 1.0, "right": {"extractive": 1.0}}


@pytest.mark.slow
def test_write_report_of_two_splits(tmp_path: Path) -> None:
    dev, test = synthetic_turns(tmp_path), synthetic_report(tmp_path)
    test.split = "test"
    written = write_report([dev, test], tmp_path / "out")
    assert {p.name for p in written} >= {"report.md", "dev-retrieval.png", "test-latency.png"}
    md = (tmp_path / "out" / "report.md").read_text()
    assert md.index("## Test split") < md.index("## Dev split") < md.index("### Paraphrase consistency")
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["split"] == "all" and data["splits"]["dev"]["per_conversation"][0]["right"] == {
        "extractive": [True, False, True]}
    assert summaries([dev, test])["splits"]["test"]["conversations"] == {}


def test_load_turn_files(tmp_path: Path) -> None:
    good = tmp_path / "c.jsonl"
    good.write_text(json.dumps({"id": "c1", "split": "dev", "turns": [
        {"question": "Q?", "answer": "A.", "must_include": [], "gold_keys": [], "answerable": False}]}) + "\n\n")
    assert load_conversations(good)[0].turns[0].question == "Q?"
    (tmp_path / "p.jsonl").write_text('{"id": "q001", "rewordings": ["a", "b"]}\n{"id": "q002"}\n')
    with pytest.raises(BadInput, match="line 2 is not a paraphrase item"):
        load_paraphrases(tmp_path / "p.jsonl")
    with pytest.raises(BadInput, match="unknown split"):
        load_splits(tmp_path, "train")
    with pytest.raises(BadInput, match="cannot read the gold file"):
        load_splits(tmp_path, "dev")
