"""NPS, CSAT and CES: hand-computed cases and Hypothesis invariants."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fideliza.analytics.feedback import (
    ces,
    csat,
    nps,
    nps_band,
    nps_from_counts,
    response_rate,
    word_frequencies,
)

scores = st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=300)


def test_bands():
    assert [nps_band(s) for s in (0, 6, 7, 8, 9, 10)] == [
        "detractor", "detractor", "passive", "passive", "promoter", "promoter"]
    with pytest.raises(ValueError):
        nps_band(11)


def test_hand_computed_nps():
    # 5 promoters, 3 passives, 2 detractors of 10: 50 % − 20 % = +30.
    result = nps([10, 9, 9, 10, 9, 8, 7, 7, 3, 6])
    assert result is not None
    assert (result.promoters, result.passives, result.detractors) == (5, 3, 2)
    assert result.score == pytest.approx(30.0)
    # var = p + d − (p − d)² = 0.5 + 0.2 − 0.09 = 0.61; margin = 1.96 × 100 × √(0.61/10) = 48.41
    assert result.margin == pytest.approx(1.96 * 100 * math.sqrt(0.061), abs=1e-9)
    assert result.margin == pytest.approx(48.41, abs=0.01)


def test_all_detractors_and_no_answers():
    result = nps([0, 1, 2])
    assert result is not None and result.score == -100 and result.margin == 0
    assert nps([]) is None
    single = nps([10])
    assert single is not None and single.score == 100 and single.margin is None


def test_csat_ces_rate_hand_computed():
    assert csat([5, 4, 3, 2, 1, 5, 4, 4]) == pytest.approx(62.5)  # 5 of 8 are 4–5
    assert csat([]) is None
    assert ces([7, 6, 5, 2]) == pytest.approx(5.0)
    assert ces([]) is None
    assert response_rate(25, 200) == pytest.approx(12.5)
    assert response_rate(0, 0) is None
    with pytest.raises(ValueError):
        csat([6])
    with pytest.raises(ValueError):
        ces([0])


@given(scores)
def test_nps_is_bounded(values):
    result = nps(values)
    assert result is not None
    assert -100 <= result.score <= 100
    assert result.answers == len(values)


@given(scores, st.randoms(use_true_random=False))
def test_nps_is_permutation_invariant(values, rnd):
    shuffled = list(values)
    rnd.shuffle(shuffled)
    assert nps(shuffled) == nps(values)


@given(scores, st.sampled_from([7, 8]))
def test_adding_a_passive_moves_nps_towards_zero(values, passive):
    before = nps(values)
    after = nps([*values, passive])
    assert before is not None and after is not None
    if before.score == 0:
        assert after.score == 0
    else:
        assert abs(after.score) < abs(before.score)


@given(st.integers(0, 500), st.integers(0, 500), st.integers(0, 500))
def test_margin_is_never_negative(p, q, d):
    result = nps_from_counts(p, q, d)
    if p + q + d == 0:
        assert result is None
    else:
        assert result is not None
        assert result.margin is None or result.margin >= 0


def test_word_frequencies_counts_each_text_once_without_function_words():
    texts = ["La atención fue muy buena, buena de verdad", "Atención lenta en caja", "precio"]
    assert word_frequencies(texts, top=3) == [("atención", 2), ("buena", 1), ("caja", 1)]
