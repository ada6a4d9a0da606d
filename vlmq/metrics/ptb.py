"""A pure-Python stand-in for the Stanford PTBTokenizer as pycocoevalcap runs it.

pycocoevalcap tokenizes captions with CoreNLP 3.4.1's PTBTokenizer (`-preserveLines -lowerCase`)
and then drops punctuation tokens. This module reproduces that on ordinary English captions so
caption metrics can run where Java is absent. Rules were written from the tokenizer's observed
output (contractions, abbreviations, numbers, brackets, quotes), not from its grammar; exotic text
(emoticons, URLs inside words, rare abbreviations) may still differ. Tests compare the two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# Tokens pycocoevalcap removes after tokenizing. Its bracket names are upper case while the
# tokenizer lower-cases them, so -lrb- and friends survive: kept that way for equal scores.
COCO_PUNCTUATION = frozenset(
    ["''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-",
     "--", "...", ";"]
)

_AL = r"[^\W_]"  # a Unicode letter or digit
# Abbreviations that keep their period in any letter case (observed on CoreNLP 3.4.1).
_ABBREV_ANY_CASE_TEXT = """
jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thurs fri
ala ariz calif colo conn ct dak fla ga ind kan kans ky md mich minn mo mont neb nev okla penn
tenn va vt wis wisc wyo inc co cos corp pty ltd plc bancorp dept bhd assn univ intl sys invt
elec natl mfg mtg jr sr bros blvd rd esq mr mrs ms dr drs prof profs sen sens rep reps atty
attys lt col gen messrs gov govs adm rev maj sgt cpl pvt capt st ste ave pres lieut hon brig
cmdr comdr pfc spc supt supts det mme mlle etc al vs cf tel ft sq mt est ext bldg wm jos
assoc ph ph.d ed.d
"""
_ABBREV_ANY_CASE = frozenset(_ABBREV_ANY_CASE_TEXT.split())
# Ones that are also ordinary words: abbreviations only when capitalised ("Mass." not "mass.").
_ABBREV_CAPITALISED = frozenset(
    {"ark", "del", "ill", "la", "mass", "miss", "ore", "pa", "tex", "wash"}
)
# "No." stays whole before a number ("No. 5").
_ABBREV_BEFORE_DIGIT = frozenset({"no", "nos"})

# Words the tokenizer splits in two.
_SPLIT_WORDS = {"cannot": 3, "gonna": 3, "gotta": 3, "wanna": 3, "lemme": 3, "gimme": 3,
                "'tis": 2, "'twas": 2}
_SUFFIXES = re.compile(r"(?i)^(.*" + _AL + r")('(?:s|d|ll|re|ve|m))$")
_NEG = re.compile(r"(?i)^(.*" + _AL + r")(n't)$")
_BRACKETS = {"(": "-LRB-", ")": "-RRB-", "{": "-LCB-", "}": "-RCB-", "[": "-LSB-",
             "]": "-RSB-"}
_CHAR_MAP = {"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u2014": "--",
             "\u2013": "--", "\u00a3": "#", "\u20ac": "$", "\u00a2": " cents"}

# One lexical item; tried in this order at each position of a whitespace-free chunk.
_LEX = re.compile(
    r"""
    (?P<url>(?:https?://|www\.)[^\s"'()<>]+[^\s"'()<>.,;:!?])
  | (?P<email>[\w.+-]+@[\w-]+(?:\.[\w-]+)+)
  | (?P<amp>[A-Z]+(?:&[A-Z]+)+)
  | (?P<number>(?<![^\W_])(?:[-+]\d+(?:[.,:/-]\d+)*|\d+(?:[.,:/-]\d+)+|\.\d+))
  | (?P<lead>(?<![^\W_])'(?:em|cause|n'|tis|twas|\d+s?)(?!""" + _AL + r"""))
  | (?P<clitic>'(?i:s|d|ll|re|ve|m)(?!""" + _AL + r"""))
  | (?P<word>""" + _AL + r"""+(?:(?:-(?!-)|[./]|(?<=[^\W\d_])'(?=[^\W\d_]))""" + _AL
    + r"""+)*)
  | (?P<ellipsis>\.{3,})
  | (?P<dashes>-{2,})
  | (?P<bang>[!?]+)
  | (?P<other>.)
    """,
    re.VERBOSE,
)


def _peel(word: str) -> list[str]:
    """Split clitics off a word: "can't've" -> ["ca", "n't", "'ve"]."""
    tail: list[str] = []
    while (m := _SUFFIXES.match(word)) is not None:
        word, suffix = m.group(1), m.group(2)
        tail.insert(0, suffix)
    if (m := _NEG.match(word)) is not None:
        word = m.group(1)
        tail.insert(0, m.group(2))
    return [word, *tail]


def _split_word(word: str) -> list[str]:
    low = word.lower()
    if low in _SPLIT_WORDS:
        cut = _SPLIT_WORDS[low]
        return [word[:cut], word[cut:]]
    if "'n'" in low:  # rock'n'roll
        out: list[str] = []
        for i, part in enumerate(re.split(r"('n')", word, flags=re.IGNORECASE)):
            if part:
                out.extend([part] if i % 2 else _peel(part))
        return out
    if low.startswith("y'") and len(low) > 2:  # y'all -> y' all
        return [word[:2], *_peel(word[2:])]
    return _peel(word)


def _keeps_period(word: str, rest_of_line: str) -> bool:
    """Whether a word directly followed by '.' keeps it as an abbreviation."""
    low = word.lower()
    if re.fullmatch(r"(?:[^\W\d_]\.)*[^\W\d_]", word):  # a., u.s., p.m.
        return True
    if low in _ABBREV_ANY_CASE:
        return True
    if low in _ABBREV_CAPITALISED and word[:1].isupper():
        return True
    return low in _ABBREV_BEFORE_DIGIT and re.match(r"\.\s+\d", rest_of_line) is not None


def ptb_tokenize(line: str) -> list[str]:
    """PTB tokens of one line, lower-cased, as `PTBTokenizer -preserveLines -lowerCase` gives."""
    text = "".join(_CHAR_MAP.get(c, c) for c in line)
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        m = _LEX.match(text, pos)
        assert m is not None  # the last alternative matches any character
        kind, tok = m.lastgroup, m.group()
        pos = m.end()
        if kind == "lead":
            tokens.extend(_split_word(tok))
        elif kind == "word":
            if text.startswith(".", pos) and not text.startswith("..", pos) and _keeps_period(
                tok, text[pos:]
            ):
                tok += "."
                pos += 1
            tokens.extend(_split_word(tok))
        elif kind == "ellipsis":
            tokens.append("...")
        elif kind == "dashes":
            tokens.append("--")
        elif tok in _BRACKETS:
            tokens.append(_BRACKETS[tok])
        elif tok == '"':
            opening = not tokens or text[m.start() - 1 : m.start()].isspace()
            tokens.append("``" if opening else "''")
        elif tok == "'":
            before = text[m.start() - 1 : m.start()]
            after = text[pos : pos + 1]
            opening = (not before or before.isspace()) and bool(after) and not after.isspace()
            tokens.append("`" if opening else "'")
        else:
            tokens.append(tok)
    return [t.lower() for t in tokens]


def coco_tokenize(caption: str) -> str:
    """One caption as pycocoevalcap's PTBTokenizer returns it: tokens, punctuation dropped."""
    flat = caption.replace("\n", " ").replace("\r", " ")
    return " ".join(t for t in ptb_tokenize(flat) if t not in COCO_PUNCTUATION)


def tokenize_captions(captions: Mapping[object, Iterable[str]]) -> dict[object, list[str]]:
    """{key: [captions]} -> {key: [tokenized captions]}, like PTBTokenizer().tokenize()."""
    return {k: [coco_tokenize(c) for c in caps] for k, caps in captions.items()}
