"""VQA accuracy: EvalAI answer normalization and the leave-one-out vote."""

from __future__ import annotations

import pytest

from vlmq.metrics.vqa import normalize_answer, vqa_accuracy

# (raw answer, what the official EvalAI processor makes of it)
NORMALIZATION = [
    ("Two", "2"),
    ("The cat.", "cat"),
    ("t-shirt", "t shirt"),
    ("3.5", "3.5"),
    ("5.", "5"),
    ("(red)", "red"),
    ("$5", "$5"),
    ("none", "0"),
    ("Ten", "10"),
    ("eleven", "eleven"),
    ("an apple", "apple"),
    ("A  dog\tand\nthe cat", "dog and cat"),
    ("1,000", "1000"),
    ("12,345,678", "12345678"),
    ("yes!", "yes"),
    ("what?", "what"),
    ("dont", "don't"),
    ("Isnt", "isn't"),
    ("whats up", "what's up"),
    ("it's", "it 's"),
    ("John's", "john 's"),
    ("somebody'd", "somebodyd"),
    ("Im", "im"),  # the table's capitalised keys never match lower-cased text
    ("t-shirt - blue", "tshirt blue"),  # a mark touching a space is deleted everywhere
    ("red/white", "red white"),
    ("red / white", "red white"),
    ("@home", "home"),
    ("e.g. stop", "eg stop"),
    ("U.S.A.", "usa"),
    ("3.14.", "3.14"),
    ("10:30", "10:30"),
    ("50%", "50%"),
    ("#1", "#1"),
    ("", ""),
    ("   ", ""),
    ('"stop"', "stop"),
    ("[a] {b} <c>", "b c"),
    ("x_y", "x y"),
    ("a_b", "b"),  # "_" becomes a space, then the article goes
    ("+=", ""),
    ("back\\slash", "back slash"),
]


@pytest.mark.parametrize(("raw", "expected"), NORMALIZATION)
def test_normalization_matches_evalai(raw: str, expected: str) -> None:
    assert normalize_answer(raw) == expected


def test_only_32_periods_are_removed() -> None:
    # The official code passes re.UNICODE (32) as re.sub's count argument.
    assert normalize_answer("a" + "." * 40) == "a" + "." * 8


def _official(prediction: str, answers: list[str]) -> float:
    """The official formula, literally: mean over i of min(1, #{j != i: answer_j == pred} / 3)."""
    pred = normalize_answer(prediction)
    gts = [normalize_answer(a) for a in answers]
    accs = []
    for i in range(len(gts)):
        others = gts[:i] + gts[i + 1 :]
        accs.append(min(1.0, sum(1 for g in others if g == pred) / 3))
    return sum(accs) / len(accs)


@pytest.mark.parametrize(("matching", "step"), [(0, 0.0), (1, 0.3), (2, 0.6), (3, 0.9), (4, 1.0),
                                                 (7, 1.0), (10, 1.0)])
def test_steps_with_ten_answers(matching: int, step: float) -> None:
    answers = ["Two"] * matching + ["three"] * (10 - matching)
    got = vqa_accuracy("2", answers)
    assert got == pytest.approx(_official("2", answers), abs=1e-12)
    assert got == pytest.approx(step, abs=1e-12)


def test_normalization_applies_to_both_sides() -> None:
    answers = ["the Red ball."] * 3 + ["blue"] * 7
    assert vqa_accuracy("Red Ball", answers) == pytest.approx(0.9)
    assert vqa_accuracy("a red-ball", answers) == pytest.approx(0.9)  # "-" -> space
    assert vqa_accuracy("red balls", answers) == 0.0


def test_single_answer_is_exact_match_after_normalization() -> None:
    assert vqa_accuracy("Circle.", ["circle"]) == 1.0
    assert vqa_accuracy("circles", ["circle"]) == 0.0


@pytest.mark.parametrize("answers", [["a", "a"], ["a", "b", "a"], ["a", "a", "a", "b", "c"],
                                     ["b", "c", "d"], ["a"] * 6])
def test_fewer_than_ten_answers_use_the_same_vote(answers: list[str]) -> None:
    assert vqa_accuracy("a", answers) == pytest.approx(_official("a", answers), abs=1e-12)


def test_no_answers_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        vqa_accuracy("a", [])
