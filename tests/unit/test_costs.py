"""Prices and billed time for the cost ledger (pure rules), and ``since`` parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from castsmith.domain.costs import Price, cost_of, price_for, reported_seconds
from castsmith.domain.errors import ValidationError
from castsmith.pipelines.costs import parse_since


def test_configured_prices_merge_over_the_defaults_per_key() -> None:
    assert price_for({}, "runpod", "workflow") == Price(per_second=0.00031)
    assert price_for({"runpod": {"per_image": 0.01}}, "runpod", "workflow") == Price(
        per_second=0.00031, per_image=0.01
    )
    # A kind's own price wins over the provider's.
    assert price_for({}, "replicate", "training") == Price(per_second=0.001525)
    assert price_for({}, "replicate", "text_to_image") == Price(per_image=0.04)
    # Offline is free whatever is configured; an unknown provider costs nothing.
    assert price_for({"offline": {"per_image": 9.0}}, "offline", "text_to_image") == Price()
    assert price_for({}, "acme", "workflow") == Price()


def test_the_billed_time_is_what_the_provider_reported() -> None:
    assert reported_seconds({"executionTime": 2300, "delayTime": 900}) == 2.3
    assert reported_seconds({"predict_time": 7.31}) == 7.31
    assert reported_seconds({"inference_time": 33}) == 33.0
    assert reported_seconds({"elapsed": 4.0}) is None
    assert reported_seconds({"executionTime": True}) is None


def test_a_cost_adds_time_images_and_trainings() -> None:
    price = Price(per_second=0.5, per_image=2.0, per_training=10.0)
    assert cost_of(price, seconds=3.0, images=2, trainings=1) == 15.5
    assert cost_of(price, seconds=None, images=0) == 0.0


def test_since_reads_dates_date_times_and_relative_spans() -> None:
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("24h", now) == now - timedelta(hours=24)
    assert parse_since("2026-12-01") == datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_since("2026-12-01T10:00:00+02:00") == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert parse_since(None) is None and parse_since("") is None
    with pytest.raises(ValidationError):
        parse_since("last week")
