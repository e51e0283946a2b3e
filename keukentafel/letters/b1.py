"""Readability check for Dutch resident texts (B1): sentence length, long words, words to avoid.

The check works on what a resident reads: the rendered subject, the plain text (``body.txt``),
and the HTML letter and e-mail as text (keukentafel.letters.text). Label lines ("Wanneer:
dinsdag 12 januari", "Telefoon: 020 ...") are facts, not prose: they are no sentences and count
in no average. Rules: average sentence length (target ≤ 15 words, error above 20), very long sentences
(warning above 25 words), the share of long words (≥ 4 syllables or more than 13 letters; warning
above 20%, error above 30%), a list of official words with a plainer alternative (error), and an
optional hint on passive voice. Web addresses, e-mail addresses and numbers are not words here.
Findings carry the line number in the rendered text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path

TARGET_SENTENCE_WORDS = 15
MAX_AVERAGE_SENTENCE_WORDS = 20
LONG_SENTENCE_WORDS = 25
LONG_WORD_WARN = 0.20
LONG_WORD_ERROR = 0.30
MIN_WORDS_FOR_SHARES = 40  # averages and shares say nothing about a subject line

# Official words and their plain alternative. Patterns are whole words, case-insensitive.
AVOID: dict[str, str] = {
    "voornoemd": "die, deze (of noem het opnieuw)",
    "voornoemde": "die, deze (of noem het opnieuw)",
    "gedogen": "toestaan",
    "middels": "met, door",
    "teneinde": "om",
    "alsmede": "en, ook",
    "conform": "volgens",
    "reeds": "al",
    "dient te": "moet",
    "dienen te": "moeten",
    "inzake": "over",
    "onverwijld": "meteen",
    "derhalve": "daarom",
    "desalniettemin": "toch",
    "thans": "nu",
    "ingevolge": "volgens",
    "aangaande": "over",
    "omtrent": "over",
    "hieromtrent": "hierover",
    "bijgaand": "bij deze brief",
    "terstond": "meteen",
    "zulks": "dat",
    "doch": "maar",
    "gelieve": "wilt u",
    "ten behoeve van": "voor",
    "ter zake": "over",
    "overeenkomstig": "volgens",
    "woonachtig": "wonen",
    "ondergetekende": "ik",
    "mits": "als",
    "danwel": "of",
    "c.q.": "of",
    "d.m.v.": "met, door",
    "i.v.m.": "omdat, over",
    "t.a.v.": "voor, aan",
    "per omgaande": "meteen",
    "u wordt verzocht": "wilt u",
    "na ontvangst van": "als u ... heeft gekregen",
    "in het kader van": "voor, bij",
}

_AVOID_PATTERNS = [
    (word, alternative, re.compile(rf"(?<![\w.]){re.escape(word)}(?![\w])", re.IGNORECASE))
    for word, alternative in AVOID.items()
]
_URLS = re.compile(r"(https?://\S+|www\.\S+|\S+@\S+\.\S+)")
_WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?])$|(?<=:)\s*$")
_VOWEL_GROUPS = re.compile(r"(ij|[aeiouyàáâäèéêëìíîïòóôöùúûü]+)", re.IGNORECASE)
_PASSIVE_AUX = re.compile(r"\b(wordt|worden|werd|werden)\b", re.IGNORECASE)
_PARTICIPLE = re.compile(r"\b\w*ge\w{2,}(?:d|t|en)\b", re.IGNORECASE)
_BULLET = re.compile(r"^\s*([-*•]|\d+[.)])\s+")
# "Wanneer: dinsdag ...", "Hoe laat: 19.30 uur": one to three words, a colon, a value, and no
# full stop at the end (that is a sentence with a colon: "Het onderwerp is: de plannen.")
_LABEL = re.compile(r"^[^\W\d_][\w'’()-]*(?: [\w'’()-]+){0,2}:\s+\S(?:.*[^.!?])?$")


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    HINT = "hint"


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str  # "avoid_word", "sentence_length", "long_sentence", "long_words", "passive", "meta"
    severity: Severity
    line: int  # 1-based line in the checked text; 0 for the whole text
    message: str
    source: str = ""  # which file or part: "subject", "body.txt"


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    line: int
    words: tuple[str, ...]


def syllables(word: str) -> int:
    """Rough Dutch syllable count: groups of vowels ('ij' counts as a vowel)."""
    return max(1, len(_VOWEL_GROUPS.findall(word)))


def is_long_word(word: str) -> bool:
    return syllables(word) >= 4 or len(word) > 13


def words_of(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(_URLS.sub(" ", text)))


def sentences(text: str) -> list[Sentence]:
    """Sentences with the line they start on. A paragraph is joined across line breaks; a bullet
    item or a line without end punctuation followed by a blank line stands on its own; a label
    line (see ``_LABEL``) is no sentence at all."""
    found: list[Sentence] = []
    buffer: list[str] = []
    start_line = 0

    def flush() -> None:
        nonlocal buffer
        joined = " ".join(buffer).strip()
        buffer = []
        if not joined:
            return
        for piece in _SENTENCE_END.split(joined):
            piece = (piece or "").strip()
            words = words_of(piece)
            if words:
                found.append(Sentence(piece, start_line, words))

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        stands_alone = bool(_BULLET.match(line))
        if not line or stands_alone or _LABEL.match(line):
            flush()
        if not line or _LABEL.match(line):
            continue
        start_line = number if not buffer else start_line
        buffer.append(_BULLET.sub("", line))
        if stands_alone:
            flush()
    flush()
    return found


def check_text(text: str, *, source: str = "", passive_hints: bool = False) -> list[Finding]:
    """Findings for one Dutch text (errors first is not guaranteed: sort as you need).

    The rules run in turn: words to avoid and passive voice per line, then very long sentences,
    then the averages and shares over the whole text (only for texts long enough to have them)."""
    findings = _line_findings(text, source, passive_hints)
    parsed = sentences(text)
    findings += [
        Finding(
            "long_sentence",
            Severity.WARNING,
            sentence.line,
            f"sentence of {len(sentence.words)} words (split it; aim for ≤ "
            f"{TARGET_SENTENCE_WORDS})",
            source,
        )
        for sentence in parsed
        if len(sentence.words) > LONG_SENTENCE_WORDS
    ]
    if sum(len(s.words) for s in parsed) >= MIN_WORDS_FOR_SHARES:
        findings += _average_findings(parsed, source) + _long_word_findings(parsed, source)
    return findings


def _line_findings(text: str, source: str, passive_hints: bool) -> list[Finding]:
    findings: list[Finding] = []
    for number, line in enumerate(text.splitlines(), start=1):
        cleaned = _URLS.sub(" ", line)
        findings += [
            Finding(
                "avoid_word",
                Severity.ERROR,
                number,
                f'avoid "{word}": write "{alternative}"',
                source,
            )
            for word, alternative, pattern in _AVOID_PATTERNS
            if pattern.search(cleaned)
        ]
        aux = _PASSIVE_AUX.search(cleaned) if passive_hints else None
        participle = _PARTICIPLE.search(cleaned) if aux else None
        if aux and participle:
            findings.append(
                Finding(
                    "passive",
                    Severity.HINT,
                    number,
                    f'passive voice? "{aux.group(0)} … {participle.group(0)}": say who does it',
                    source,
                )
            )
    return findings


def _average_findings(parsed: list[Sentence], source: str) -> list[Finding]:
    average = sum(len(s.words) for s in parsed) / len(parsed)
    if average > MAX_AVERAGE_SENTENCE_WORDS:
        message = (
            f"average sentence length {average:.1f} words (fail above "
            f"{MAX_AVERAGE_SENTENCE_WORDS}, aim for ≤ {TARGET_SENTENCE_WORDS})"
        )
        return [Finding("sentence_length", Severity.ERROR, 0, message, source)]
    if average > TARGET_SENTENCE_WORDS:
        message = f"average sentence length {average:.1f} words (aim for ≤ {TARGET_SENTENCE_WORDS})"
        return [Finding("sentence_length", Severity.WARNING, 0, message, source)]
    return []


def _long_word_findings(parsed: list[Sentence], source: str) -> list[Finding]:
    all_words = [w for s in parsed for w in s.words]
    long_words = [w for w in all_words if is_long_word(w)]
    share = len(long_words) / len(all_words)
    if share <= LONG_WORD_WARN:
        return []
    examples = ", ".join(sorted(set(long_words), key=lambda w: (-len(w), w))[:5])
    return [
        Finding(
            "long_words",
            Severity.ERROR if share > LONG_WORD_ERROR else Severity.WARNING,
            0,
            f"{share:.0%} long words (aim for ≤ {LONG_WORD_WARN:.0%}), e.g. {examples}",
            source,
        )
    ]


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.ERROR]


def check_template(
    kind: str,
    *,
    templates_dir: str | Path | None = None,
    on: date | None = None,
    passive_hints: bool = False,
) -> list[Finding]:
    """Render the kind for every sample household and check what its residents read: the
    subject, the plain text, and the HTML letter and e-mail as text.

    Findings that repeat across households are reported once. Exposed for
    ``keukentafel letters check``.
    """
    from keukentafel.letters.compose import throwaway_link_secret
    from keukentafel.letters.preview import compose_sample
    from keukentafel.letters.samples import SAMPLE_DATE, sample_households
    from keukentafel.letters.text import html_text

    seen: set[tuple[str, int, str, str]] = set()
    out: list[Finding] = []
    secret = throwaway_link_secret()  # the links are rendered to be read, never followed
    for household in sample_households():
        composed = compose_sample(
            kind, household, templates_dir=templates_dir, on=on or SAMPLE_DATE, secret=secret
        )
        parts = (
            ("subject.txt", composed.letter.subject),
            ("body.txt", composed.letter.text),
            ("body.html (letter)", html_text(composed.letter.html)),
            ("body.html (e-mail)", html_text(composed.email.html)),
        )
        for source, text in parts:
            for finding in check_text(text, source=source, passive_hints=passive_hints):
                key = (finding.rule, finding.line, finding.message, finding.source)
                if key not in seen:
                    seen.add(key)
                    out.append(finding)
    return out


def report(results: dict[str, list[Finding]]) -> tuple[str, int]:
    """Operator text for ``check_all`` results, and the number of errors (exit code material)."""
    lines: list[str] = []
    error_count = 0
    for kind, findings in results.items():
        kind_errors = len(errors(findings))
        error_count += kind_errors
        status = "FAIL" if kind_errors else "ok"
        lines.append(f"{kind}: {status} ({kind_errors} error(s), {len(findings)} finding(s))")
        order = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.HINT: 2}
        for finding in sorted(findings, key=lambda f: (order[f.severity], f.source, f.line)):
            where = f"{finding.source}:{finding.line}" if finding.line else finding.source
            lines.append(f"  {finding.severity.value:7} {where or '-'}  {finding.message}")
    return "\n".join(lines), error_count


def check_all(
    templates_dir: str | Path | None = None, *, on: date | None = None
) -> dict[str, list[Finding]]:
    """Every kind in the templates folder with its findings.

    Before any text is read, every kind folder and ``meta.yaml`` (shipped and the corporations'
    overrides) is checked against the message-kind registry (keukentafel.domain.messages): a
    disagreement is an error finding of the kind it names, and that kind is not rendered until
    it agrees (a folder outside the registry never is: nothing could send it)."""
    from keukentafel.domain.messages import find_policy
    from keukentafel.letters.render import available_kinds, check_meta_files

    results: dict[str, list[Finding]] = {}
    for path, problems in check_meta_files(templates_dir).items():
        kind = path.split("/")[2] if path.startswith("overrides/") else path.split("/")[0]
        results.setdefault(kind, []).extend(
            Finding("meta", Severity.ERROR, 0, problem, path) for problem in problems
        )
    for kind in available_kinds(templates_dir):
        findings = results.setdefault(kind, [])
        if find_policy(kind) is not None and not findings:  # it renders only once it agrees
            findings.extend(check_template(kind, templates_dir=templates_dir, on=on))
    return results
