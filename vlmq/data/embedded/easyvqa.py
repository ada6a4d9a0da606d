"""The `easy-vqa` package's real shape images and questions, read from its installed files."""

from __future__ import annotations

from dataclasses import dataclass

from vlmq.errors import UnavailableError

VALIDATION_EVERY = 10  # every 10th train image (and all its questions) forms the validation split
TEST_OFFSET = 10_000_000


@dataclass(frozen=True)
class Question:
    question_id: int  # unique over all splits: the package's test ids are offset by TEST_OFFSET
    question: str
    answer: str
    image_id: int
    image_path: str


def _package():
    try:
        import easy_vqa
    except ImportError:
        raise UnavailableError(
            "the easy-vqa dataset needs the `easy-vqa` package: pip install easy-vqa"
        ) from None
    return easy_vqa


def questions(split: str) -> list[Question]:
    """One split's questions; validation is carved out of the package's train split by image."""
    ev = _package()
    if split == "test":
        qs, ans, ids = ev.get_test_questions()
        paths = ev.get_test_image_paths()
        keep = [True] * len(qs)
        offset = TEST_OFFSET
    else:
        qs, ans, ids = ev.get_train_questions()
        paths = ev.get_train_image_paths()
        in_val = [i % VALIDATION_EVERY == 0 for i in ids]
        keep = in_val if split == "validation" else [not v for v in in_val]
        offset = 0
    return [
        Question(question_id=offset + n, question=q, answer=a, image_id=int(i), image_path=paths[i])
        for n, (q, a, i, k) in enumerate(zip(qs, ans, ids, keep, strict=True))
        if k
    ]


def answer_type(answer: str) -> str:
    return "yes/no" if answer in ("yes", "no") else "other"
