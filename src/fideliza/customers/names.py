"""Which card's name survives a merge, and how it is written.

A name is a *group*: the first name together with the surnames, or the company name. A
merge takes the group whole from one card and never assembles it from parts of two — that
is how «Mª DOLORES SANTOS LORENZO» merged with a web card holding «Santos Loreno» in the
first-name field (fields swapped, one slip) became «Santos Loreno SANTOS LORENZO».

The group comes from the card that, in this order:

1. has the fields in the right order, when one card has first name and surnames swapped
   («Blanco Álvarez» / «Rosa» against «Rosa» / «Blanco Álvarez»): the order in which the
   rest of the customer base uses each word (as a first name or as a surname) wins, and
   without evidence there, the order with more words among the surnames;
2. is more complete (both surnames beat one);
3. is spelt as more of the base spells it, when the two differ by a slip («Péreez»);
4. is better written: mixed case beats all capitals or all lower case, a full «María»
   beats «Mª», accents beat none.

Then each of its words is written as the other card writes it when it is the same word up
to case and accents and the other writes it better («MARIA» → «María»); a person's name
left in all capitals or all lower case is put in title case («blanco álvarez» → «Blanco
Álvarez»). So the merged name always equals one card's name up to case and accents.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA

# Groups of card fields that are one name: taken together from one card.
NAME_GROUPS: dict[str, tuple[str, ...]] = {
    "name": ("first_name", "last_name"),
    "company_name": ("company_name",),
}
# Words written in lower case inside a person's name (never its first word).
PARTICLES = frozenset({"de", "del", "la", "las", "los", "y", "e", "i", "da", "das", "do", "dos",
                       "van", "von", "der", "den", "di", "du", "le"})
# Company legal forms, written in capitals («S.L.», «SLU»).
LEGAL_FORMS = frozenset({"sl", "sa", "slu", "sll", "slne", "sal", "scp", "cb", "sc", "scoop", "sau",
                         "srl", "sas", "ltda", "ltd", "llc", "inc", "gmbh", "ag", "bv", "nv", "plc"})


def fold(word: str) -> str:
    """Lower case, no accents, letters and digits only: «Álvarez,» → «alvarez», «Mª» → «ma»."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))


def _words(text: str) -> list[str]:
    return text.split()


def letter_case(text: str) -> str:
    """'upper', 'lower', 'mixed', or '' when the text has no cased letters."""
    letters = [ch for ch in text if ch.isalpha() and ch.lower() != ch.upper()]
    if not letters:
        return ""
    if all(ch.isupper() for ch in letters):
        return "upper"
    if all(ch.islower() for ch in letters):
        return "lower"
    return "mixed"


def _diacritics(text: str) -> int:
    return sum(1 for ch in unicodedata.normalize("NFD", text) if unicodedata.combining(ch))


def is_abbreviation(word: str) -> bool:
    """«Mª», «Fco.», «J.»: a shortened word."""
    return "ª" in word or "º" in word or (word.endswith(".") and len(fold(word)) <= 3 and fold(word) not in LEGAL_FORMS)


def _word_quality(word: str) -> tuple[int, int]:
    """How well a word is written: properly cased, then with its accents."""
    case = letter_case(word)
    proper = case == "mixed" or (case == "upper" and len(fold(word)) == 1)
    return (int(proper), _diacritics(word))


def _group_quality(values: Sequence[str]) -> tuple[int, int, int]:
    text = " ".join(v for v in values if v)
    words = _words(text)
    return (int(letter_case(text) == "mixed"), -sum(is_abbreviation(w) for w in words), _diacritics(text))


def _title_word(word: str, *, first: bool, company: bool) -> str:
    folded = fold(word)
    if company and folded in LEGAL_FORMS:
        return word.upper()
    if not first and folded in PARTICLES and not company:
        return word.lower()
    out, start = [], True
    for ch in word.lower():
        out.append(ch.upper() if start and ch.isalpha() else ch)
        if ch.isalpha():
            start = False
        elif ch in "-'’":
            start = True  # «García-Pardo», «D'Angelo»
    return "".join(out)


def rewrite(values: Sequence[str], other: Sequence[str], *, company: bool = False) -> tuple[str, ...]:
    """`values` (one card's group) with each word as `other` writes it when that is the same
    word up to case and accents and better written; a person's name field in one case
    throughout (all capitals, all lower case) is put in title case. A company name in
    capitals stays in capitals (acronyms), unless the other card writes its words."""
    better: dict[str, str] = {}
    for word in _words(" ".join(other)):
        key = fold(word)
        if key and (key not in better or _word_quality(word) > _word_quality(better[key])):
            better[key] = word
    result = []
    for value in values:
        # A person's field in one case throughout («ANA» beside «García») is rewritten; a
        # company name only when the whole name is.
        single_case = letter_case(" ".join(values) if company else value) in ("upper", "lower")
        words = []
        for i, word in enumerate(_words(value)):
            candidate = better.get(fold(word))
            if candidate is not None and _word_quality(candidate) > _word_quality(word):
                word = candidate  # perhaps only for its accents: its case is seen to below
            case = letter_case(word)
            if single_case and case in ("upper", "lower") and (
                    not company or case == "lower" or fold(word) in LEGAL_FORMS):
                word = _title_word(word, first=(i == 0), company=company)
            words.append(word)
        result.append(" ".join(words) if words else value.strip())
    return tuple(result)


# ----------------------------------------------------------------- evidence from the base

@dataclass
class NameCounts:
    """How many cards use each word (folded) in a first name and in surnames."""

    first: Counter[str] = field(default_factory=Counter)
    last: Counter[str] = field(default_factory=Counter)

    @classmethod
    def from_names(cls, names: Iterable[tuple[str | None, str | None]]) -> NameCounts:
        counts = cls()
        for first, last in names:
            counts.first.update({fold(w) for w in _words(first or "")} - {""})
            counts.last.update({fold(w) for w in _words(last or "")} - {""})
        return counts


class LazyNameCounts:
    """NameCounts loaded on first use (most merges never need them)."""

    def __init__(self, load: Callable[[], NameCounts]) -> None:
        self._load = load
        self._counts: NameCounts | None = None

    @property
    def counts(self) -> NameCounts:
        if self._counts is None:
            self._counts = self._load()
        return self._counts


def _near(a: str, b: str) -> bool:
    """One slip apart (a letter missing, doubled, swapped or mistyped)."""
    return a != b and min(len(a), len(b)) >= 3 and OSA.distance(a, b) <= 1


def _same_word(a: str, b: str) -> bool:
    return a == b or _near(a, b)


def _overlap(a: str, b: str) -> bool:
    fa, fb = [fold(w) for w in _words(a)], [fold(w) for w in _words(b)]
    return any(_same_word(x, y) for x in fa for y in fb if x and y)


def looks_swapped(one: Sequence[str], other: Sequence[str]) -> bool:
    """The two cards hold the same name with first name and surnames in opposite fields."""
    (f1, l1), (f2, l2) = one, other
    return (bool(f1 and l1 and f2 and l2) and _overlap(f1, l2) and _overlap(l1, f2)
            and not _overlap(f1, f2) and not _overlap(l1, l2))


def _order_plausibility(values: Sequence[str], counts: NameCounts) -> int:
    """How much the base agrees that values[0] is a first name and values[1] surnames."""
    first_words = [fold(w) for w in _words(values[0])]
    last_words = [fold(w) for w in _words(values[1])]
    score = 0
    for w in first_words[:1]:
        score += counts.first[w] - counts.last[w]
    for w in last_words[:1]:
        score += counts.last[w] - counts.first[w]
    return score


def _surnames_first(values: Sequence[str]) -> int:
    """Words in the surname field minus words in the first-name field."""
    return len(_words(values[1])) - len(_words(values[0]))


def _spelling(mine: Sequence[str], theirs: Sequence[str], counts: NameCounts) -> int:
    """+1 per word the base spells as `mine` does, -1 per word it spells as `theirs`."""
    a = [fold(w) for w in _words(" ".join(mine))]
    b = [fold(w) for w in _words(" ".join(theirs))]
    if len(a) != len(b):
        return 0
    score = 0
    for x, y in zip(a, b, strict=True):
        if _near(x, y):
            cx, cy = counts.first[x] + counts.last[x], counts.first[y] + counts.last[y]
            score += (cx > cy) - (cx < cy)
    return score


def _has_slips(mine: Sequence[str], theirs: Sequence[str]) -> bool:
    a = [fold(w) for w in _words(" ".join(mine))]
    b = [fold(w) for w in _words(" ".join(theirs))]
    return len(a) == len(b) and any(_near(x, y) for x, y in zip(a, b, strict=True))


def choose_group(survivor: Sequence[str], duplicate: Sequence[str], *, group: str = "name",
                 counts: LazyNameCounts | None = None) -> tuple[str, tuple[str, ...]]:
    """('survivor' | 'duplicate', the group's values as they will be written)."""
    company = group == "company_name"
    s_empty, d_empty = not any(survivor), not any(duplicate)
    if d_empty:
        return "survivor", rewrite(survivor, duplicate, company=company)
    if s_empty:
        return "duplicate", rewrite(duplicate, survivor, company=company)
    s_ok = d_ok = 1
    spelling = 0
    if counts is not None and not company and len(survivor) == 2:
        if looks_swapped(survivor, duplicate):
            # The base's usage first; with no evidence there (a new base), Spanish names
            # usually carry more surnames than given names.
            s_order = (_order_plausibility(survivor, counts.counts), _surnames_first(survivor))
            d_order = (_order_plausibility(duplicate, counts.counts), _surnames_first(duplicate))
            s_ok, d_ok = int(s_order >= d_order), int(d_order >= s_order)
        elif _has_slips(survivor, duplicate):
            spelling = _spelling(survivor, duplicate, counts.counts)

    def key(values: Sequence[str], ok: int, spelt: int, mine: int) -> tuple:
        words = _words(" ".join(values))
        return (ok, len(words), spelt, *_group_quality(values), mine)

    if key(survivor, s_ok, spelling, 1) >= key(duplicate, d_ok, -spelling, 0):
        return "survivor", rewrite(survivor, duplicate, company=company)
    return "duplicate", rewrite(duplicate, survivor, company=company)


# ------------------------------------------------------------------------- re-imports

def _abbreviates(short: str, word: str) -> bool:
    """«Mª» → «María», «Fco.» → «Francisco»: the abbreviation's letters, in order, from the
    word's first letter on."""
    a, w = fold(short), fold(word)
    if not a or not w or a[0] != w[0] or len(a) >= len(w):
        return False
    rest = iter(w)
    return all(ch in rest for ch in a)


def _word_matches(a: str, b: str) -> bool:
    fa, fb = fold(a), fold(b)
    return bool(fa and fb) and (
        _same_word(fa, fb) or (is_abbreviation(a) and _abbreviates(a, b))
        or (is_abbreviation(b) and _abbreviates(b, a)))


def same_name(one: Sequence[str], other: Sequence[str]) -> bool:
    """The two groups are versions of one name: every word of the one with fewer words
    pairs with a different word of the other — the same word up to case and accents, one
    slip apart, or its abbreviation («Mª» / «María») — whatever field holds it."""
    a, b = _words(" ".join(one)), _words(" ".join(other))
    if not a or not b:
        return False
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    free = list(long)
    # Exact matches (up to case and accents) first, so a slip cannot take another's word.
    pending = []
    for word in short:
        for i, candidate in enumerate(free):
            if fold(candidate) == fold(word):
                del free[i]
                break
        else:
            pending.append(word)
    for word in pending:
        for i, candidate in enumerate(free):
            if _word_matches(word, candidate):
                del free[i]
                break
        else:
            return False
    return True


def reimport_group(current: Sequence[str], incoming: Sequence[str], *, group: str = "name",
                   counts: LazyNameCounts | None = None) -> tuple[str, ...]:
    """A card's name group after its source sends `incoming` again (a re-imported list).

    The group is decided whole, never field by field. Nothing in the file: the card keeps
    its name. Another version of the same name (`same_name`: the card may hold the better
    written or more complete name a merge took from another card): decided as a merge
    decides (`choose_group`, the card winning ties), so «MARIA GARCIA» never replaces
    «María García» and a re-imported list cannot undo a merge. A different name (a word
    that is in neither version): the file's group, whole, as the file writes it.
    """
    current, incoming = tuple(current), tuple(incoming)
    if not any(incoming) or incoming == current:
        return current
    if not any(current) or not same_name(current, incoming):
        return incoming
    _origin, written = choose_group(current, incoming, group=group, counts=counts)
    return written
