"""Vocabulary: external ids ↔ dense indices, its errors, immutability and identity."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.vocab import Vocabulary

SNOWFLAKES = [1_234_567_890_123_456_789, 42, -7, 987_654_321_987_654_321, 0]


def test_ids_and_indices_round_trip():
    vocab = Vocabulary(SNOWFLAKES)
    assert len(vocab) == 5
    idx = vocab.numbers(SNOWFLAKES)
    np.testing.assert_array_equal(idx, np.arange(5))
    np.testing.assert_array_equal(vocab.ids[idx], SNOWFLAKES)
    for i, ext in enumerate(SNOWFLAKES):
        assert vocab.index(ext) == i and vocab.get(ext) == i and vocab.id(i) == ext
        assert ext in vocab
    shuffled = [SNOWFLAKES[k] for k in (3, 0, 4, 1)]
    np.testing.assert_array_equal(vocab.ids[vocab.numbers(shuffled)], shuffled)
    assert vocab.ids.dtype == np.int64 and vocab.numbers(shuffled).dtype == np.int64


def test_from_values_is_sorted_and_distinct():
    vocab = Vocabulary.from_values(np.array([30, 10, 30, 20, 10]))
    np.testing.assert_array_equal(vocab.ids, [10, 20, 30])
    assert vocab.index(30) == 2


def test_unknown_ids_raise_or_map_to_minus_one():
    vocab = Vocabulary([5, 9, 2])
    with pytest.raises(ValueError, match="unknown id 7"):
        vocab.index(7)
    with pytest.raises(ValueError, match=r"unknown ids: \[7, 100\]"):
        vocab.numbers([9, 7, 100])
    np.testing.assert_array_equal(vocab.numbers([9, 7, 2, 100], missing="negative"), [1, -1, 2, -1])
    assert vocab.get(7) == -1 and vocab.get(7, default=-5) == -5
    assert 7 not in vocab and "not a number" not in vocab and None not in vocab


def test_ids_must_be_unique_and_one_dimensional():
    with pytest.raises(ValueError, match="unique"):
        Vocabulary([1, 2, 1])
    with pytest.raises(ValueError, match="one-dimensional"):
        Vocabulary(np.array([[1, 2], [3, 4]]))


def test_ids_are_read_only():
    source = np.array([3, 1, 2], dtype=np.int64)
    vocab = Vocabulary(source)
    with pytest.raises(ValueError, match="read-only"):
        vocab.ids[0] = 99
    assert vocab.index(3) == 0 and vocab.id(0) == 3


def test_empty_vocabulary():
    vocab = Vocabulary([])
    assert len(vocab) == 0 and vocab.ids.shape == (0,)
    assert 1 not in vocab and vocab.get(1) == -1
    np.testing.assert_array_equal(vocab.numbers([1, 2], missing="negative"), [-1, -1])
    assert len(vocab.numbers([])) == 0
    with pytest.raises(ValueError, match="unknown"):
        vocab.numbers([1])
    with pytest.raises(ValueError, match="unknown"):
        vocab.index(1)


def test_equality_and_hash_follow_the_ids_in_order():
    a, b = Vocabulary([1, 2, 3]), Vocabulary(np.array([1, 2, 3]))
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != Vocabulary([3, 2, 1])  # same ids, other indices: not the same mapping
    assert a != Vocabulary([1, 2])
    assert a != [1, 2, 3]
