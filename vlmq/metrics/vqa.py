"""VQA accuracy as EvalAI scores VQAv2 and TextVQA: answer normalization, leave-one-out vote.

The normalization reproduces the EvalAI / MMF answer processor step by step, quirks included,
because published TextVQA and VQAv2 numbers (and lmms-eval's) are computed with it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# Marks handled by the punctuation step; '.', "'", ':', '$', '%', '&' are not among them.
_PUNCT = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@",
          "`", ",", "?", "!")
# A digit-comma-digit anywhere makes every mark be deleted rather than spaced out. Commas are
# already gone by then in the full pipeline, so this only matters for direct calls.
_COMMA_BETWEEN_DIGITS = re.compile(r"(?<=\d),+(?=\d)")
# The official pattern's "(?!<=\d)" is a typo for a lookbehind; as written it is a lookahead that
# never blocks a match, so a period is dropped whenever no digit follows it.
_PERIOD = re.compile(r"(?!<=\d)(\.)(?!\d)")
# The official code passes re.UNICODE (= 32) as sub()'s *count*: at most 32 periods go.
_PERIOD_MAX_REMOVED = 32

_NUMBERS = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
            "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
_ARTICLES = frozenset({"a", "an", "the"})

# The contractions table of the VQA evaluation (keys written without apostrophes by annotators).
# Its oddities are kept on purpose: capitalised keys never match lower-cased text, and
# "somebody'd" maps to "somebodyd".
_CONTRACTIONS_TABLE = """
aint ain't | arent aren't | cant can't | couldve could've | couldnt couldn't
couldn'tve couldn't've | couldnt've couldn't've | didnt didn't | doesnt doesn't | dont don't
hadnt hadn't | hadnt've hadn't've | hadn'tve hadn't've | hasnt hasn't | havent haven't
hed he'd | hed've he'd've | he'dve he'd've | hes he's | howd how'd | howll how'll | hows how's
Id've I'd've | I'dve I'd've | Im I'm | Ive I've | isnt isn't | itd it'd | itd've it'd've
it'dve it'd've | itll it'll | let's let's | maam ma'am | mightnt mightn't
mightnt've mightn't've | mightn'tve mightn't've | mightve might've | mustnt mustn't
mustve must've | neednt needn't | notve not've | oclock o'clock | oughtnt oughtn't
ow's'at 'ow's'at | 'ows'at 'ow's'at | 'ow'sat 'ow's'at | shant shan't | shed've she'd've
she'dve she'd've | she's she's | shouldve should've | shouldnt shouldn't
shouldnt've shouldn't've | shouldn'tve shouldn't've | somebody'd somebodyd
somebodyd've somebody'd've | somebody'dve somebody'd've | somebodyll somebody'll
somebodys somebody's | someoned someone'd | someoned've someone'd've
someone'dve someone'd've | someonell someone'll | someones someone's | somethingd something'd
somethingd've something'd've | something'dve something'd've | somethingll something'll
thats that's | thered there'd | thered've there'd've | there'dve there'd've | therere there're
theres there's | theyd they'd | theyd've they'd've | they'dve they'd've | theyll they'll
theyre they're | theyve they've | twas 'twas | wasnt wasn't | wed've we'd've | we'dve we'd've
weve we've | werent weren't | whatll what'll | whatre what're | whats what's | whatve what've
whens when's | whered where'd | wheres where's | whereve where've | whod who'd
whod've who'd've | who'dve who'd've | wholl who'll | whos who's | whove who've | whyll why'll
whyre why're | whys why's | wont won't | wouldve would've | wouldnt wouldn't
wouldnt've wouldn't've | wouldn'tve wouldn't've | yall y'all | yall'll y'all'll
y'allll y'all'll | yall'd've y'all'd've | y'alld've y'all'd've | y'all'dve y'all'd've
youd you'd | youd've you'd've | you'dve you'd've | youll you'll | youre you're | youve you've
"""
CONTRACTIONS: dict[str, str] = dict(
    pair.split() for pair in _CONTRACTIONS_TABLE.replace("\n", "|").split("|") if pair.strip()
)


def _first_pass(text: str) -> str:
    """Lowercase, drop commas and question marks, split off possessive 's, flatten whitespace."""
    text = text.lower().replace(",", "").replace("?", "").replace("'s", " 's").strip()
    return text.replace("\n", " ").replace("\t", " ").strip()


def _punctuation(text: str) -> str:
    """Each mark is deleted everywhere if it touches a space anywhere, else spaced out."""
    out = text
    digits_with_commas = _COMMA_BETWEEN_DIGITS.search(text) is not None
    for mark in _PUNCT:
        touches_space = f"{mark} " in text or f" {mark}" in text
        out = out.replace(mark, "" if touches_space or digits_with_commas else " ")
    return _PERIOD.sub("", out, count=_PERIOD_MAX_REMOVED)


def _digits_articles_contractions(text: str) -> str:
    words = [_NUMBERS.get(w, w) for w in text.lower().split()]
    words = [w for w in words if w not in _ARTICLES]
    return " ".join(CONTRACTIONS.get(w, w) for w in words)


def normalize_answer(text: str) -> str:
    """Normalize one answer or prediction the way EvalAI does before comparing strings."""
    return _digits_articles_contractions(_punctuation(_first_pass(text)))


def vqa_accuracy(prediction: str, answers: Sequence[str]) -> float:
    """Leave-one-out VQA accuracy of one prediction against its human answers.

    For each human answer i, the prediction earns min(1, matches among the other answers / 3);
    the score is the mean over i. With 10 answers, 0..4+ matches give 0, 0.3, 0.6, 0.9, 1.
    With fewer answers the same vote runs over those there are; with a single answer (nobody to
    leave out) it is an exact match after normalization.
    """
    if not answers:
        raise ValueError("vqa_accuracy needs at least one reference answer")
    pred = normalize_answer(prediction)
    gts = [normalize_answer(a) for a in answers]
    if len(gts) == 1:
        return float(pred == gts[0])
    matches = sum(g == pred for g in gts)
    total = 0.0
    for g in gts:
        others = matches - (g == pred)
        total += min(1.0, others / 3.0)
    return total / len(gts)
