"""latency_summary: the shared p50/p99 report of latency samples."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.bench import latency_summary


def test_latency_summary_reports_median_and_p99():
    samples = [float(v) for v in range(1, 101)]  # 1..100 ms
    summary = latency_summary(samples)
    assert summary == {"p50": 50.5, "p99": pytest.approx(99.01)}
    assert set(summary) == {"p50", "p99"}


def test_latency_summary_rounds_to_the_requested_digits():
    samples = np.array([1.23456789, 2.3456789, 3.456789])
    assert latency_summary(samples) == {"p50": 2.3457, "p99": 3.4346}
    assert latency_summary(samples, digits=1) == {"p50": 2.3, "p99": 3.4}


def test_latency_summary_needs_samples():
    with pytest.raises(ValueError, match="no latency samples"):
        latency_summary([])
