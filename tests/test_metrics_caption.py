"""Caption metrics equal pycocoevalcap's own; the Python tokenizer stands in for PTB's."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

import vlmq.metrics.caption as caption_module
from vlmq.errors import VlmqError
from vlmq.metrics.caption import (
    CaptionScorer,
    java_ptb_tokenize,
    pycocoevalcap_dir,
)
from vlmq.metrics.ptb import coco_tokenize, ptb_tokenize

pytest.importorskip("pycocoevalcap")
JAVA = shutil.which("java")
needs_java = pytest.mark.skipif(JAVA is None, reason="no Java runtime: PTB/METEOR need it")

# COCO-style captions written for these tests: five references and one model caption per image,
# with the usual mess (capitals, missing or doubled periods, commas, contractions, numbers).
REFERENCES = [
    ["A man riding a wave on top of a surfboard.", "A surfer rides a large wave in the ocean.",
     "a person on a surf board in the water", "A surfer is catching a wave at the beach",
     "Man in a black wetsuit surfing a big wave."],
    ["Two dogs playing with a frisbee in the park.", "Two brown dogs run after a red frisbee.",
     "a couple of dogs that are in the grass", "Dogs chasing a flying disc on a lawn.",
     "two dogs fighting over a frisbee on the grass"],
    ["A kitchen with a stove, a sink and a refrigerator.", "A small kitchen with white cabinets.",
     "an empty kitchen with wooden floors and a window", "The kitchen has a fridge and an oven.",
     "A clean kitchen that has lots of counter space."],
    ["A red double decker bus driving down a street.", "A double-decker bus on a city road.",
     "a big red bus is parked next to the sidewalk", "The bus is red and has two levels.",
     "A tour bus drives past some tall buildings"],
    ["A plate of food with broccoli, rice and chicken.", "Chicken and vegetables on a white plate",
     "a dinner plate that has meat and broccoli on it", "A healthy meal sits on a table.",
     "There's a plate of rice, broccoli and meat."],
    ["A cat sleeping on top of a laptop keyboard.", "a gray cat lying on a computer",
     "The cat's curled up on the keys of a laptop.", "A kitten naps on an open laptop.",
     "A cat that is laying on a laptop computer."],
    ["A baseball player swinging a bat at a ball.", "A batter hits the ball during a game.",
     "a man in a uniform swings at a pitch", "The player is up to bat at home plate.",
     "A baseball game in progress with a batter, catcher and umpire."],
    ["A giraffe standing next to a tall tree.", "a giraffe eating leaves from a tree",
     "A tall giraffe in a zoo enclosure.", "The giraffe's reaching up to the branches.",
     "One giraffe is standing in the dirt near trees"],
    ["A stop sign on the corner of a street.", "A red stop sign next to a road",
     "a street sign that says 'stop' on a pole", "The stop sign isn't far from the trees.",
     "A STOP sign at an intersection in a small town."],
    ["A young boy holding a tennis racket.", "a child is playing tennis on a court",
     "A kid swings his racquet at a tennis ball.", "The boy's about to hit the ball.",
     "A little boy in a white shirt plays tennis"],
    ["A bowl of fruit with bananas, apples and oranges.", "Fruit in a wooden bowl on a table",
     "a bunch of bananas next to some apples", "Several kinds of fruit sit in a bowl.",
     "A fruit bowl holding 3 bananas and 2 oranges."],
    ["An airplane flying over a city at sunset.", "A jet in the sky above some buildings.",
     "a large passenger plane flies through the air", "The plane is flying low over the city.",
     "A commercial airliner in flight during the evening"],
]
PREDICTIONS = [
    "A man riding a wave on a surfboard.",
    "two dogs playing with a frisbee in the grass",
    "A kitchen with a stove and a refrigerator.",
    "a red bus driving down the street",
    "A plate of food with broccoli and rice.",
    "A cat laying on a laptop computer.",
    "a baseball player swinging a bat",
    "a giraffe standing next to a tree",
    "A red stop sign on a street corner.",
    "A boy holding a tennis racket on a court",
    "A bowl of fruit on a table.",
    "An airplane flying in the sky.",
]


def _pycocoevalcap_plain(preds: list[str], refs: list[list[str]]) -> dict[str, tuple]:
    """pycocoevalcap called the documented way: PTBTokenizer, then each scorer."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tok = PTBTokenizer()
    gts = tok.tokenize({i: [{"caption": c} for c in r] for i, r in enumerate(refs)})
    res = tok.tokenize({i: [{"caption": p}] for i, p in enumerate(preds)})
    out = {}
    out["bleu"] = Bleu(4).compute_score(gts, res)
    out["meteor"] = Meteor().compute_score(gts, res)
    out["rouge_l"] = Rouge().compute_score(gts, res)
    out["cider"] = Cider().compute_score(gts, res)
    return out


def _snapshot(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*")}


@pytest.fixture(scope="module")
def read_only_install(tmp_path_factory: pytest.TempPathFactory):
    """A read-only copy of the pycocoevalcap parts that run Java, without SPICE's CoreNLP."""
    src = pycocoevalcap_dir()
    copy = tmp_path_factory.mktemp("install") / "pycocoevalcap"
    for part in ("tokenizer", "meteor"):
        shutil.copytree(src / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "spice").mkdir()
    for p in [copy, *copy.rglob("*")]:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    yield copy, _snapshot(copy)
    for p in [copy, *copy.rglob("*")]:
        p.chmod(p.stat().st_mode | stat.S_IWUSR)


@pytest.fixture(scope="module")
def java_score(read_only_install):
    """The whole caption set scored once, through the read-only copy, SPICE asked for."""
    if JAVA is None:
        pytest.skip("no Java runtime")
    install, _ = read_only_install
    return CaptionScorer(python_tokenizer=False, spice=True, install_dir=install).score(
        PREDICTIONS, REFERENCES)


@needs_java
def test_equals_pycocoevalcap_with_ptb(java_score, capsys) -> None:
    ref = _pycocoevalcap_plain(PREDICTIONS, REFERENCES)
    capsys.readouterr()
    got = java_score
    assert got.notes["tokenizer"] == "ptb-java"
    for name in ("cider", "meteor", "rouge_l"):
        corpus, per = ref[name]
        assert got.corpus[name] == pytest.approx(float(corpus), abs=1e-6), name
        assert got.per_sample[name] == pytest.approx([float(x) for x in per], abs=1e-6), name
    bleu, bleu_per = ref["bleu"]
    for n in (1, 2, 3, 4):
        assert got.corpus[f"bleu_{n}"] == pytest.approx(bleu[n - 1], abs=1e-6)
        assert got.per_sample[f"bleu_{n}"] == pytest.approx(bleu_per[n - 1], abs=1e-6)
    assert 0 < got.corpus["bleu_4"] < 1 and got.corpus["cider"] > 0.5  # a real, non-trivial set


def test_bleu_prints_nothing(capsys, monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # BLEU is pure Python; skip METEOR's start-up
    capsys.readouterr()
    CaptionScorer(python_tokenizer=True).score(PREDICTIONS[:2], REFERENCES[:2])
    assert capsys.readouterr().out == ""


def _all_captions() -> list[str]:
    return PREDICTIONS + [c for refs in REFERENCES for c in refs]


@needs_java
def test_python_tokenizer_matches_ptb_on_these_captions() -> None:
    captions = _all_captions()
    assert [coco_tokenize(c) for c in captions] == java_ptb_tokenize(captions, JAVA,
                                                                     pycocoevalcap_dir())


PTB_CASES = {
    "There's a man's hat, isn't it?": "there 's a man 's hat , is n't it ?",
    "A cat can't sit (really) on 1,000 mats.":
        "a cat ca n't sit -lrb- really -rrb- on 1,000 mats .",
    'A sign that says "stop".': "a sign that says `` stop '' .",
    "Mr. Smith in the U.S. at 5 p.m. with a t.v.": "mr. smith in the u.s. at 5 p.m. with a t.v.",
    "a tv. on a stand": "a tv . on a stand",
    "A 2-year-old's $5 t-shirt... 10% off!!": "a 2-year-old 's $ 5 t-shirt ... 10 % off !!",
    "It's gonna rain -- cannot stay": "it 's gon na rain -- can not stay",
}


@pytest.mark.parametrize("text", list(PTB_CASES))
def test_python_ptb_tokens(text: str) -> None:
    assert " ".join(ptb_tokenize(text)) == PTB_CASES[text]


@needs_java
def test_python_tokenizer_cider_within_one_percent(java_score, monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no Java: Python tokenizer, METEOR skipped
    py = CaptionScorer().score(PREDICTIONS, REFERENCES)
    assert py.notes["tokenizer"] == "ptb-python"
    assert py.corpus["cider"] == pytest.approx(java_score.corpus["cider"], rel=0.01)


def test_without_java_meteor_is_skipped_with_reason(monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    got = CaptionScorer(spice=True).score(PREDICTIONS[:3], REFERENCES[:3])
    assert got.notes["tokenizer"] == "ptb-python"
    assert "meteor" not in got.corpus and "meteor" not in got.per_sample
    assert "no Java" in got.notes["meteor"]
    assert "spice" not in got.corpus and got.notes["spice"].startswith("skipped")
    assert {"cider", "bleu_4", "rouge_l"} <= set(got.corpus)


def test_python_tokenizer_forced_by_environment(monkeypatch) -> None:
    monkeypatch.setenv("VLMQ_PTB_PYTHON", "1")
    monkeypatch.setenv("PATH", "/nonexistent")  # keep it fast: no METEOR
    assert CaptionScorer().python_tokenizer is True
    assert CaptionScorer(python_tokenizer=False).python_tokenizer is False


@needs_java
@pytest.mark.slow
def test_python_tokenizer_forced_with_java_present() -> None:
    got = CaptionScorer(python_tokenizer=True).score(PREDICTIONS[:2], REFERENCES[:2])
    assert got.notes["tokenizer"] == "ptb-python"
    assert "meteor" in got.corpus  # METEOR still runs: forcing changes only the tokenizer


@needs_java
def test_read_only_install_works_and_stays_untouched(java_score, read_only_install) -> None:
    install, before = read_only_install
    assert java_score.notes["tokenizer"] == "ptb-java"
    assert 0 < java_score.corpus["meteor"] < 1
    # SPICE was asked for; without CoreNLP it skips with the reason instead of downloading.
    assert "spice" not in java_score.corpus and "CoreNLP" in java_score.notes["spice"]
    assert _snapshot(install) == before  # root ignores permissions: check nothing was written


def test_empty_caption_scores_zero_without_crashing(monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    got = CaptionScorer().score(["", "..."], REFERENCES[:2])
    assert got.per_sample["cider"] == [0.0, 0.0]
    assert got.per_sample["rouge_l"] == [0.0, 0.0]
    assert "rouge_l" in got.notes


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(VlmqError, match="2 captions for 1 reference sets"):
        CaptionScorer().score(["a", "b"], [["a"]])
    with pytest.raises(VlmqError, match="sample 0: references must be a non-empty list"):
        CaptionScorer().score(["a"], [[]])
    with pytest.raises(VlmqError, match="sample 0: references must be a non-empty list"):
        CaptionScorer().score(["a"], ["a cat"])


@needs_java
def test_embedded_coco_scenes_python_cider_within_one_percent() -> None:
    try:
        from vlmq.data.embedded import load_embedded

        ds = load_embedded("coco-scenes", "test")
    except (ImportError, VlmqError) as exc:
        pytest.skip(f"embedded set coco-scenes not available yet: {exc}")
    from pycocoevalcap.cider.cider import Cider

    refs = [list(r) for r in ds.select(range(min(len(ds), 300)))["answer"]]
    # Each image's first reference plays the model's caption against the other four.
    preds = [r[0] for r in refs]
    others = [r[1:] for r in refs]
    flat = preds + [c for o in others for c in o]
    java_tok = java_ptb_tokenize(flat, JAVA, pycocoevalcap_dir())
    py_tok = [coco_tokenize(c) for c in flat]

    def cider(tokens: list[str]) -> float:
        res = {i: [tokens[i]] for i in range(len(preds))}
        gts, pos = {}, len(preds)
        for i, o in enumerate(others):
            gts[i], pos = tokens[pos : pos + len(o)], pos + len(o)
        return float(Cider().compute_score(gts, res)[0])

    java_cider = cider(java_tok)
    assert java_cider > 0.1
    assert cider(py_tok) == pytest.approx(java_cider, rel=0.01)


@needs_java
def test_spice_that_cannot_run_is_skipped_with_the_reason(tmp_path: Path, monkeypatch) -> None:
    # CoreNLP "present" but unusable (empty jars): SPICE fails fast and says why.
    copy = tmp_path / "pycocoevalcap"
    shutil.copytree(pycocoevalcap_dir() / "spice", copy / "spice",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for jar in ("stanford-corenlp-3.6.0.jar", "stanford-corenlp-3.6.0-models.jar"):
        (copy / "spice" / "lib" / jar).write_bytes(b"")
    monkeypatch.setattr(caption_module, "meteor_scores", lambda *a: (0.5, [0.5]))  # keep it fast
    got = CaptionScorer(python_tokenizer=True, spice=True, install_dir=copy).score(
        PREDICTIONS[:1], REFERENCES[:1])
    assert "spice" not in got.corpus
    assert got.notes["spice"].startswith("skipped: SPICE: Java failed")
    assert "Exception" in got.notes["spice"] or "Error" in got.notes["spice"]


@needs_java
def test_captions_seen_before_are_not_sent_to_java_again(java_score, read_only_install,
                                                          monkeypatch) -> None:
    """A second variant's captions: only the new caption goes to the tokenizer and to
    METEOR, and every score equals the first scoring's (the same scorer, as in a session)."""
    install, _ = read_only_install
    sent: list[list[str]] = []
    run_java = caption_module._run_java

    def counting(what: str, args: list[str], cwd: str, timeout_s: float) -> str:
        sent.append(Path(args[-1]).read_text(encoding="utf-8").split("\n"))
        return run_java(what, args, cwd, timeout_s)

    monkeypatch.setattr(caption_module, "_run_java", counting)
    scorer = CaptionScorer(python_tokenizer=False, install_dir=install)
    again = scorer.score(PREDICTIONS, REFERENCES)
    assert sent == []  # java_score tokenized every one of these lines
    for name in ("cider", "meteor", "rouge_l", "bleu_4"):
        assert again.per_sample[name] == java_score.per_sample[name]
    changed = ["a caption no variant wrote before", *PREDICTIONS[1:]]
    meteor = caption_module._meteor
    scored = len(meteor._stats)
    got = scorer.score(changed, REFERENCES)
    assert sent == [["a caption no variant wrote before"]]
    assert len(meteor._stats) == scored + 1
    caption_module._ptb_seen.clear()
    meteor._stats.clear()
    fresh = scorer.score(changed, REFERENCES)
    assert got.per_sample == fresh.per_sample and got.corpus == fresh.corpus
