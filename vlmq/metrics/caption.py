"""Caption metrics as COCO scores them: pycocoevalcap's CIDEr-D, BLEU-1..4, METEOR, ROUGE-L, SPICE.

Captions go through the PTB tokenizer first (Java, as pycocoevalcap does) or, where Java is absent
or the Python tokenizer is forced, through `vlmq.metrics.ptb`. pycocoevalcap's own wrappers for the
Java parts write temporary files next to their jars; here the same jars run with a private temporary
folder as working directory, so a read-only install works and nothing is left in it.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import math
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vlmq.errors import UnavailableError, VlmqError
from vlmq.metrics.base import CorpusScore, MetricInfo
from vlmq.metrics.ptb import COCO_PUNCTUATION, coco_tokenize

BLEU_ORDERS = (1, 2, 3, 4)
ENV_PYTHON_TOKENIZER = "VLMQ_PTB_PYTHON"  # "1": use the pure-Python tokenizer even with Java
ENV_SPICE = "VLMQ_SPICE"  # "1": also score SPICE (needs Stanford CoreNLP next to pycocoevalcap)

CAPTION_METRICS: tuple[MetricInfo, ...] = (
    MetricInfo("cider", aggregate="cider",
               description="CIDEr-D (pycocoevalcap), document frequencies from this set"),
    *(MetricInfo(f"bleu_{n}", gated=n == 4, aggregate=f"bleu-{n}",
                 description=f"BLEU-{n} (pycocoevalcap, closest ref)") for n in BLEU_ORDERS),
    MetricInfo("meteor", aggregate="corpus",
               description="METEOR 1.5 (pycocoevalcap's jar; needs Java)"),
    MetricInfo("rouge_l", description="ROUGE-L F (beta 1.2, pycocoevalcap)"),
)
SPICE_METRIC = MetricInfo("spice", gated=False, description="SPICE F-score (opt-in; needs Java)")

_PTB_CLASS = "edu.stanford.nlp.process.PTBTokenizer"
_PTB_JAR = "tokenizer/stanford-corenlp-3.4.1.jar"
_METEOR_JAR = "meteor/meteor-1.5.jar"
_SPICE_JAR = "spice/spice-1.0.jar"
_CORENLP_JARS = (
    "spice/lib/stanford-corenlp-3.6.0.jar",
    "spice/lib/stanford-corenlp-3.6.0-models.jar",
)


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def pycocoevalcap_dir() -> Path:
    """The installed pycocoevalcap folder (its jars are used from there, read-only)."""
    spec = importlib.util.find_spec("pycocoevalcap")
    if spec is None or not spec.submodule_search_locations:
        raise UnavailableError("caption metrics need pycocoevalcap: pip install pycocoevalcap")
    return Path(next(iter(spec.submodule_search_locations)))


def _run_java(what: str, args: list[str], cwd: str, timeout_s: float) -> str:
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, encoding="utf-8",
                              timeout=timeout_s, check=True)
    except subprocess.TimeoutExpired:
        raise UnavailableError(f"{what}: Java ran past {timeout_s:.0f} s") from None
    except subprocess.CalledProcessError as exc:
        lines = [ln.strip() for ln in (exc.stderr or "").splitlines() if ln.strip()]
        # A Java stack trace ends in "... N more": the exception line says what went wrong.
        errors = [ln for ln in lines if "Exception" in ln or "Error" in ln]
        why = (errors or lines or ["no error output"])[0]
        raise UnavailableError(f"{what}: Java failed (exit {exc.returncode}): {why}") from None
    return done.stdout


# PTB tokens of every caption this process has tokenized, per tokenizer jar. With
# -preserveLines each line is tokenized on its own, so the runs of one session (every variant
# scored against the same references, often with the same captions) send Java only the lines
# it has not seen: a call whose lines were all seen starts no JVM.
_ptb_seen: dict[str, dict[str, str]] = {}


def java_ptb_tokenize(sentences: Sequence[str], java: str, install_dir: Path,
                      timeout_s: float = 300) -> list[str]:
    """CoreNLP's PTBTokenizer run as pycocoevalcap runs it, punctuation tokens dropped."""
    flat = [s.replace("\n", " ").replace("\r", " ") for s in sentences]
    seen = _ptb_seen.setdefault(str(install_dir / _PTB_JAR), {})
    # blank lines would shift the output; each new line is sent once
    new = list(dict.fromkeys(s for s in flat if s.strip() and s not in seen))
    if new:
        with tempfile.TemporaryDirectory(prefix="vlmq-ptb-") as tmp:
            src = Path(tmp) / "captions.txt"
            src.write_text("\n".join(new), encoding="utf-8")
            cmd = [java, "-cp", str(install_dir / _PTB_JAR), _PTB_CLASS, "-preserveLines",
                   "-lowerCase", "-encoding", "utf-8", str(src)]
            lines = _run_java("PTB tokenizer", cmd, tmp, timeout_s).split("\n")
        if len(lines) < len(new):
            raise VlmqError(f"PTBTokenizer returned {len(lines)} lines for {len(new)} captions")
        for s, line in zip(new, lines, strict=False):
            seen[s] = " ".join(w for w in line.rstrip().split(" ")
                               if w and w not in COCO_PUNCTUATION)
    return [seen[s] if s.strip() else "" for s in flat]


class _MeteorProcess:
    """One METEOR jar kept running for the whole process.

    Starting it costs ~10 s of CPU (the JVM plus its paraphrase table), so a session that scores
    many variants pays that once; its -stdio protocol takes any number of SCORE/EVAL rounds.
    """

    def __init__(self, java: str, install_dir: Path) -> None:
        cmd = [java, "-jar", "-Xmx2G", str(install_dir / _METEOR_JAR), "-", "-", "-stdio",
               "-l", "en", "-norm"]
        self.key = (java, str(install_dir))
        self._tmp = tempfile.TemporaryDirectory(prefix="vlmq-meteor-")
        self.proc = subprocess.Popen(cmd, cwd=self._tmp.name, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     encoding="utf-8")
        # SCORE line -> the statistics it returned: EVAL combines the statistics it is handed,
        # so a (references, caption) pair scored once for one variant is not sent again
        self._stats: dict[str, str] = {}
        atexit.register(self.close)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def score(self, gts: dict[int, list[str]], res: dict[int, list[str]]
              ) -> tuple[float, list[float]]:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        stats = []
        for k in gts:
            hyp = res[k][0].replace("|||", "").replace("  ", " ")
            line = " ||| ".join(("SCORE", " ||| ".join(gts[k]), hyp))
            if line not in self._stats:  # a segment's statistics depend on its line alone
                stdin.write(line + "\n")
                stdin.flush()
                self._stats[line] = stdout.readline().strip()
            stats.append(self._stats[line])
        stdin.write("EVAL ||| " + " ||| ".join(stats) + "\n")
        stdin.flush()
        per = [float(stdout.readline()) for _ in stats]
        return float(stdout.readline()), per

    def close(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        self._tmp.cleanup()


_meteor: _MeteorProcess | None = None
_meteor_lock = threading.Lock()


def meteor_scores(gts: dict[int, list[str]], res: dict[int, list[str]], java: str,
                  install_dir: Path) -> tuple[float, list[float]]:
    """METEOR 1.5 through its -stdio protocol, with the same lines pycocoevalcap's wrapper sends."""
    global _meteor
    with _meteor_lock:
        if _meteor is None or not _meteor.alive() or _meteor.key != (java, str(install_dir)):
            if _meteor is not None:
                _meteor.close()
            _meteor = _MeteorProcess(java, install_dir)
        try:
            return _meteor.score(gts, res)
        except (ValueError, BrokenPipeError):
            _meteor.close()
            _meteor = None
            raise UnavailableError("METEOR's jar gave no score: is the Java runtime working?") \
                from None


def start_meteor(java: str, install_dir: Path) -> threading.Thread:
    """Start METEOR's JVM in a background thread and score one probe line, which loads its
    paraphrase table (about 6 s of one core); `meteor_scores` waits for it on the same lock.
    A failure here is left for `meteor_scores` to report, when scoring needs METEOR."""

    def probe() -> None:
        # a failure is left for scoring, which starts METEOR again and says why
        with contextlib.suppress(UnavailableError, OSError):
            meteor_scores({0: ["a probe"]}, {0: ["a probe"]}, java, install_dir)

    thread = threading.Thread(target=probe, name="vlmq-meteor-start", daemon=True)
    thread.start()
    return thread


def spice_scores(gts: dict[int, list[str]], res: dict[int, list[str]], java: str,
                 install_dir: Path, timeout_s: float = 1800) -> tuple[float, list[float]]:
    """SPICE F-scores; UnavailableError when Stanford CoreNLP was never downloaded (no attempt)."""
    missing = [j for j in _CORENLP_JARS if not (install_dir / j).is_file()]
    if missing:
        raise UnavailableError(
            f"SPICE needs Stanford CoreNLP 3.6.0 ({', '.join(Path(m).name for m in missing)}) in "
            f"{install_dir / 'spice/lib'}; pycocoevalcap downloads it on first use and nothing is "
            "downloaded here: place the jars there to score SPICE"
        )
    with tempfile.TemporaryDirectory(prefix="vlmq-spice-") as tmp:
        src, dst, cache = Path(tmp) / "in.json", Path(tmp) / "out.json", Path(tmp) / "cache"
        src.write_text(json.dumps([{"image_id": k, "test": res[k][0], "refs": gts[k]}
                                   for k in gts]))
        cmd = [java, "-jar", "-Xmx8G", str(install_dir / _SPICE_JAR), str(src), "-cache",
               str(cache), "-out", str(dst), "-subset", "-silent"]
        _run_java("SPICE", cmd, tmp, timeout_s)
        found = json.loads(dst.read_text())
    by_id = {item["image_id"]: item["scores"]["All"]["f"] for item in found}
    per = [float(by_id[k]) if by_id.get(k) is not None else math.nan for k in gts]
    return sum(per) / len(per), per


@dataclass
class CaptionScorer:
    """Scores generated captions against reference captions, per caption and over the corpus.

    python_tokenizer / spice: None reads VLMQ_PTB_PYTHON / VLMQ_SPICE from the environment.
    install_dir: a pycocoevalcap folder to take the jars from (default: the installed one).
    """

    python_tokenizer: bool | None = None
    spice: bool | None = None
    install_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.python_tokenizer is None:
            self.python_tokenizer = _flag(ENV_PYTHON_TOKENIZER)
        if self.spice is None:
            self.spice = _flag(ENV_SPICE)

    def metrics(self) -> tuple[MetricInfo, ...]:
        return CAPTION_METRICS + ((SPICE_METRIC,) if self.spice else ())

    def start(self) -> threading.Thread | None:
        """METEOR's JVM started in the background (`start_meteor`); None without Java."""
        java = shutil.which("java")
        if java is None:
            return None
        return start_meteor(java, self.install_dir or pycocoevalcap_dir())

    def score(self, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> CorpusScore:
        if len(predictions) != len(references):
            raise VlmqError(f"{len(predictions)} captions for {len(references)} reference sets")
        for i, refs in enumerate(references):
            if isinstance(refs, str) or not refs:
                raise VlmqError(f"sample {i}: references must be a non-empty list of captions")
        if not predictions:
            raise VlmqError("no captions to score")
        from pycocoevalcap.bleu.bleu import Bleu
        from pycocoevalcap.cider.cider import Cider
        from pycocoevalcap.rouge.rouge import Rouge

        install = self.install_dir or pycocoevalcap_dir()
        java = shutil.which("java")
        notes: dict[str, str] = {}
        gts, res = self._tokenize(predictions, references, java, install, notes)

        corpus: dict[str, float] = {}
        per: dict[str, list[float]] = {}
        cider, cider_per = Cider().compute_score(gts, res)
        corpus["cider"], per["cider"] = float(cider), [float(x) for x in cider_per]
        bleu, bleu_per = Bleu(4).compute_score(gts, res, verbose=0)  # verbose=0: no stdout noise
        for n in BLEU_ORDERS:
            corpus[f"bleu_{n}"], per[f"bleu_{n}"] = float(bleu[n - 1]), list(bleu_per[n - 1])
        if java is None:
            notes["meteor"] = "skipped: no Java runtime on PATH (METEOR runs meteor-1.5.jar)"
        else:
            corpus["meteor"], per["meteor"] = meteor_scores(gts, res, java, install)
        per["rouge_l"] = self._rouge(Rouge(), gts, res, notes)
        corpus["rouge_l"] = sum(per["rouge_l"]) / len(per["rouge_l"])
        if self.spice:
            try:
                if java is None:
                    raise UnavailableError("no Java runtime on PATH (SPICE runs spice-1.0.jar)")
                corpus["spice"], per["spice"] = spice_scores(gts, res, java, install)
            except UnavailableError as exc:
                notes["spice"] = f"skipped: {exc}"
        # the tokenized captions let vlmq.stats recompute CIDEr-D and BLEU on resamples
        stats = {"hyp_tokens": [res[k][0] for k in res], "ref_tokens": [gts[k] for k in gts]}
        return CorpusScore(corpus=corpus, per_sample=per, notes=notes, stats=stats)

    def _tokenize(self, predictions: Sequence[str], references: Sequence[Sequence[str]],
                  java: str | None, install: Path, notes: dict[str, str]
                  ) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
        flat = [str(p) for p in predictions] + [str(r) for refs in references for r in refs]
        if java is not None and not self.python_tokenizer:
            tokens = java_ptb_tokenize(flat, java, install)
            notes["tokenizer"] = "ptb-java"
        else:
            tokens = [coco_tokenize(s) for s in flat]
            notes["tokenizer"] = "ptb-python"
        res = {i: [tokens[i]] for i in range(len(predictions))}
        gts: dict[int, list[str]] = {}
        pos = len(predictions)
        for i, refs in enumerate(references):
            gts[i] = tokens[pos : pos + len(refs)]
            pos += len(refs)
        return gts, res

    @staticmethod
    def _rouge(rouge: object, gts: dict[int, list[str]], res: dict[int, list[str]],
               notes: dict[str, str]) -> list[float]:
        """pycocoevalcap's ROUGE-L per caption; it divides by zero on an empty caption: score 0."""
        out = []
        empty = 0
        for k in gts:
            if not res[k][0].split() or not all(r.split() for r in gts[k]):
                out.append(0.0)
                empty += 1
            else:
                out.append(float(rouge.calc_score(res[k], gts[k])))  # type: ignore[attr-defined]
        if empty:
            notes["rouge_l"] = f"{empty} empty caption(s) or reference(s) scored 0"
        return out
