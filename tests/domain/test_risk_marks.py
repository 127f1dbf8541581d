"""risk_marks(): which refund figures the console highlights, by the rules the decision uses."""

from __future__ import annotations

from chatserver.domain.ledger import Limits, RefundFigures, decide, risk_marks


def record(refunds_90d: int, refunded: int, purchased: int = 10000) -> RefundFigures:
    return RefundFigures(refunds_90d=refunds_90d, refunds_lifetime=refunds_90d,
                         refunded_cents_90d=refunded, purchased_cents_90d=purchased,
                         refunded_cents_lifetime=refunded, purchased_cents_lifetime=purchased,
                         refunds_without_prior_contact=0, customer_age_days=30)


def test_the_figures_are_kept_and_the_thresholds_added() -> None:
    figures = record(1, 1000).as_dict()
    marked = risk_marks(figures, Limits(max_refunds_in_window=3, max_refund_rate=0.25))
    assert {k: marked[k] for k in figures} == figures
    assert marked["thresholds"] == {"max_refunds_in_90_days": 3, "max_refund_rate": 0.25}


def test_the_refund_count_is_marked_once_the_next_refund_would_go_to_a_supervisor() -> None:
    for refunds, marked in ((1, False), (2, True)):
        figures = record(refunds, 100)
        assert risk_marks(figures.as_dict(), Limits())["over_threshold"]["refunds_90d"] is marked
        assert (decide("refund", "agent", 1, 0, figures, Limits()).outcome == "approval") is marked


def test_a_rate_is_marked_only_over_the_threshold() -> None:
    for refunded, marked in ((5000, False), (5001, True)):
        flags = risk_marks(record(0, refunded).as_dict(), Limits())["over_threshold"]
        assert flags["refund_rate_90d"] is marked and flags["refund_rate_lifetime"] is marked
