"""Survey scores: NPS, CSAT, CES and response rate (pure Python, no Django).

Definitions
-----------
- **NPS** (Reichheld 2003, "The One Number You Need to Grow", HBR): answers to "how likely
  are you to recommend us" on 0–10; promoters 9–10, passives 7–8, detractors 0–6.
  NPS = 100 × (promoters − detractors) / answers, in [−100, 100].
- **Margin of error of the NPS**: each answer is a draw of X ∈ {+1, 0, −1} (promoter,
  passive, detractor); NPS/100 is the mean of X, whose variance is
  p + d − (p − d)² (p, d the shares of promoters and detractors). The 95 % margin is
  1.96 × 100 × sqrt(var / n) (the normal approximation; Rocks 2016, "Confidence intervals
  for the Net Promoter Score"). With fewer than two answers no margin is stated.
- **CSAT** (top-2-box): the share of 4 and 5 answers on a 1–5 scale, in %.
- **CES**: the mean of the 1–7 answers (higher = easier, as the CES 2.0 wording).
- **Response rate**: finished responses / invitations, in %.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["NpsResult", "ces", "csat", "nps", "nps_band", "nps_from_counts", "response_rate", "word_frequencies"]

Z95 = 1.96


def nps_band(score: int) -> str:
    """"promoter" (9–10), "passive" (7–8) or "detractor" (0–6)."""
    if not 0 <= score <= 10:
        raise ValueError(f"an NPS answer is 0–10, not {score}")
    if score >= 9:
        return "promoter"
    if score >= 7:
        return "passive"
    return "detractor"


@dataclass(frozen=True)
class NpsResult:
    score: float  # −100 … 100
    promoters: int
    passives: int
    detractors: int
    margin: float | None  # ± points at 95 %; None with fewer than two answers

    @property
    def answers(self) -> int:
        return self.promoters + self.passives + self.detractors


def nps_from_counts(promoters: int, passives: int, detractors: int) -> NpsResult | None:
    """The NPS of band counts; None when there is no answer."""
    n = promoters + passives + detractors
    if n <= 0:
        return None
    p, d = promoters / n, detractors / n
    score = 100.0 * (p - d)
    margin = None
    if n >= 2:
        variance = max(0.0, p + d - (p - d) ** 2)
        margin = Z95 * 100.0 * math.sqrt(variance / n)
    return NpsResult(score=score, promoters=promoters, passives=passives, detractors=detractors, margin=margin)


def nps(scores: Iterable[int]) -> NpsResult | None:
    """The NPS of 0–10 answers; None when there is none."""
    bands = Counter(nps_band(int(s)) for s in scores)
    return nps_from_counts(bands["promoter"], bands["passive"], bands["detractor"])


def csat(scores: Iterable[int]) -> float | None:
    """% of 4–5 answers among 1–5 answers (top-2-box); None when there is none."""
    values = [int(s) for s in scores]
    for s in values:
        if not 1 <= s <= 5:
            raise ValueError(f"a CSAT answer is 1–5, not {s}")
    if not values:
        return None
    return 100.0 * sum(1 for s in values if s >= 4) / len(values)


def ces(scores: Iterable[int]) -> float | None:
    """The mean of 1–7 answers; None when there is none."""
    values = [int(s) for s in scores]
    for s in values:
        if not 1 <= s <= 7:
            raise ValueError(f"a CES answer is 1–7, not {s}")
    if not values:
        return None
    return sum(values) / len(values)


def response_rate(finished: int, invited: int) -> float | None:
    """% of invitations answered to the end; None without invitations."""
    if invited <= 0:
        return None
    return 100.0 * min(finished, invited) / invited


# Spanish function words left out of the word-frequency view.
STOPWORDS = frozenset(["a", "al", "algo", "algunas", "algunos", "ante", "antes", "como", "con", "contra", "cual", "cuando", "de", "del", "desde", "donde", "dos", "el", "ella", "ellas", "ellos", "en", "entre", "era", "eran", "es", "esa", "esas", "ese", "eso", "esos", "esta", "estaba", "estaban", "estamos", "estan", "están", "estar", "este", "esto", "estos", "fue", "fueron", "ha", "había", "habían", "han", "hasta", "hay", "la", "las", "le", "les", "lo", "los", "mas", "más", "me", "mi", "mis", "mucho", "muy", "nada", "ni", "no", "nos", "nosotros", "o", "os", "otra", "otras", "otro", "otros", "para", "pero", "poco", "por", "porque", "que", "qué", "se", "sea", "ser", "si", "sí", "sido", "sin", "sobre", "son", "su", "sus", "también", "tan", "te", "tengo", "tiene", "tienen", "todo", "todos", "tu", "tus", "un", "una", "unas", "uno", "unos", "ya", "y", "yo", "les", "fui", "muy", "bien", "the", "and", "of", "to", "es"])


def word_frequencies(texts: Iterable[str], *, top: int = 30, min_length: int = 3) -> list[tuple[str, int]]:
    """The most frequent words of the verbatims (lower-case, without Spanish function
    words), counted once per text: [(word, texts that use it)], most frequent first,
    ties alphabetical."""
    counts: Counter[str] = Counter()
    for text in texts:
        words = set()
        for raw in (text or "").lower().split():
            word = "".join(ch for ch in raw if ch.isalnum())
            if len(word) >= min_length and word not in STOPWORDS and not word.isdigit():
                words.add(word)
        counts.update(words)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
