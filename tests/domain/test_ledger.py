"""Refunds and store credit: limits per role, the refundable remainder, risk figures, credit.

Pure rules over plain figures: no I/O, and every time is passed in as an aware UTC datetime.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chatserver.domain.ledger import (
    WINDOW,
    Decision,
    LedgerError,
    Limits,
    PastRefund,
    Purchase,
    RefundFigures,
    check_order_update,
    check_refund,
    credit_balance,
    decide,
    figures,
    may_approve,
    parse_time,
    prior_contact,
    refundable,
    risk_reasons,
    share,
    visitor_notice,
)
from chatserver.domain.money import Money

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
LIMITS = Limits()


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def usd(amount: int) -> Money:
    return Money(amount, "USD")


def clean_record(**changes: int) -> RefundFigures:
    """A customer with one purchase of 100.00 in 90 days and no refund: no risk at all."""
    values = dict(refunds_90d=0, refunds_lifetime=0, refunded_cents_90d=0,
                  purchased_cents_90d=10000, refunded_cents_lifetime=0,
                  purchased_cents_lifetime=10000, refunds_without_prior_contact=0,
                  customer_age_days=365)
    values.update(changes)
    return RefundFigures(**values)


# --- Limits: the defaults from the product brief --------------------------------------------


def test_an_agent_may_refund_up_to_50_00_and_credit_up_to_25_00() -> None:
    assert LIMITS.limit("refund", "agent") == 5000
    assert LIMITS.limit("credit", "agent") == 2500


def test_a_supervisor_may_refund_and_credit_up_to_500_00() -> None:
    assert LIMITS.limit("refund", "supervisor") == 50000
    assert LIMITS.limit("credit", "supervisor") == 50000


def test_an_admin_has_no_limit() -> None:
    assert LIMITS.limit("refund", "admin") is None
    assert LIMITS.limit("credit", "admin") is None


def test_an_unknown_role_has_a_limit_of_zero() -> None:
    assert LIMITS.limit("refund", "intern") == 0
    assert LIMITS.limit("credit", "") == 0


def test_the_default_risk_threshold_is_two_refunds_in_90_days_and_a_rate_of_half() -> None:
    assert LIMITS.max_refunds_in_window == 2
    assert LIMITS.max_refund_rate == 0.5
    assert timedelta(days=90) == WINDOW


def test_limits_are_configurable_per_role() -> None:
    limits = Limits(refund={"agent": 10000}, credit={"agent": 0})

    assert limits.limit("refund", "agent") == 10000
    assert limits.limit("credit", "agent") == 0
    assert limits.limit("refund", "supervisor") == 0  # a role left out may give nothing


def test_limits_built_from_settings_give_the_supervisor_one_limit_and_the_admin_none() -> None:
    limits = Limits.of(agent_refund=1000, agent_credit=500, supervisor=20000, max_refunds=3,
                       max_rate=0.25)

    assert limits.limit("refund", "agent") == 1000
    assert limits.limit("credit", "agent") == 500
    assert limits.limit("refund", "supervisor") == 20000
    assert limits.limit("credit", "supervisor") == 20000
    assert limits.limit("refund", "admin") is None
    assert (limits.max_refunds_in_window, limits.max_refund_rate) == (3, 0.25)


def test_two_limits_objects_never_share_their_tables() -> None:
    first, second = Limits(), Limits()
    first.refund["agent"] = 1

    assert second.limit("refund", "agent") == 5000


# --- decide(): within the limit per conversation, done; above it, an approval -------------


def test_an_agent_refund_exactly_at_the_limit_is_done() -> None:
    assert decide("refund", "agent", 5000, 0, None, LIMITS) == Decision("done")


def test_an_agent_refund_one_cent_over_the_limit_needs_approval() -> None:
    decision = decide("refund", "agent", 5001, 0, None, LIMITS)

    assert decision.outcome == "approval"
    assert decision.reasons == ("over the agent limit of 50.00 per conversation",)


def test_what_was_already_refunded_in_the_conversation_counts_toward_the_limit() -> None:
    assert decide("refund", "agent", 2000, 3000, None, LIMITS).outcome == "done"
    assert decide("refund", "agent", 2001, 3000, None, LIMITS).outcome == "approval"


def test_once_the_limit_is_used_up_even_one_cent_needs_approval() -> None:
    assert decide("refund", "agent", 1, 5000, None, LIMITS).outcome == "approval"


def test_an_agent_credit_exactly_at_the_limit_is_done_and_one_cent_over_is_an_approval() -> None:
    assert decide("credit", "agent", 2500, 0, None, LIMITS).outcome == "done"
    over = decide("credit", "agent", 2501, 0, None, LIMITS)
    assert over.outcome == "approval"
    assert over.reasons == ("over the agent limit of 25.00 per conversation",)


def test_credit_already_given_in_the_conversation_counts_toward_the_credit_limit() -> None:
    assert decide("credit", "agent", 1000, 1500, None, LIMITS).outcome == "done"
    assert decide("credit", "agent", 1000, 1501, None, LIMITS).outcome == "approval"


def test_a_supervisor_refunds_up_to_500_00_at_once_and_beyond_needs_approval() -> None:
    assert decide("refund", "supervisor", 50000, 0, None, LIMITS).outcome == "done"
    over = decide("refund", "supervisor", 1, 50000, None, LIMITS)
    assert over.outcome == "approval"
    assert over.reasons == ("over the supervisor limit of 500.00 per conversation",)


def test_an_admin_refunds_and_credits_any_amount_at_once() -> None:
    huge = 10**12
    assert decide("refund", "admin", huge, huge, None, LIMITS) == Decision("done")
    assert decide("credit", "admin", huge, huge, None, LIMITS) == Decision("done")


def test_an_unknown_role_needs_approval_for_any_amount() -> None:
    decision = decide("refund", "intern", 1, 0, None, LIMITS)

    assert decision.outcome == "approval"
    assert decision.reasons == ("over the intern limit of 0.00 per conversation",)


def test_a_configured_limit_replaces_the_default() -> None:
    limits = Limits(refund={"agent": 100, "supervisor": 50000, "admin": None})

    assert decide("refund", "agent", 100, 0, None, limits).outcome == "done"
    assert decide("refund", "agent", 101, 0, None, limits).outcome == "approval"


# --- decide(): the risk threshold holds agents only, and refunds only ---------------------


def test_an_agent_refund_within_the_limit_for_a_clean_customer_is_done() -> None:
    assert decide("refund", "agent", 1000, 0, clean_record(), LIMITS) == Decision("done")


def test_an_agent_refund_that_would_be_the_third_in_90_days_needs_approval_with_the_reason(
) -> None:
    risky = clean_record(refunds_90d=2, refunds_lifetime=2, refunded_cents_90d=1000,
                         refunded_cents_lifetime=1000)

    decision = decide("refund", "agent", 100, 0, risky, LIMITS)

    assert decision == Decision("approval", ("this would be refund number 3 in 90 days",))


def test_an_agent_refund_that_would_lift_the_rate_over_half_needs_approval_with_the_reason(
) -> None:
    decision = decide("refund", "agent", 10, 0, clean_record(refunded_cents_lifetime=4995),
                      LIMITS)

    assert decision == Decision(
        "approval", ("the refund rate would be 50% of everything bought",))


def test_an_agent_over_both_the_limit_and_the_threshold_is_given_every_reason() -> None:
    risky = clean_record(refunds_90d=2)

    decision = decide("refund", "agent", 6000, 0, risky, LIMITS)

    assert decision.outcome == "approval"
    assert decision.reasons == (
        "over the agent limit of 50.00 per conversation",
        "this would be refund number 3 in 90 days",
        "the refund rate would be 60% of everything bought",
    )


def test_a_supervisor_with_the_same_risky_figures_refunds_at_once() -> None:
    risky = clean_record(refunds_90d=5, refunded_cents_90d=9000)

    assert decide("refund", "supervisor", 1000, 0, risky, LIMITS) == Decision("done")


def test_an_admin_with_the_same_risky_figures_refunds_at_once() -> None:
    risky = clean_record(refunds_90d=5, refunded_cents_90d=9000)

    assert decide("refund", "admin", 1000, 0, risky, LIMITS) == Decision("done")


def test_store_credit_ignores_the_refund_risk_threshold() -> None:
    risky = clean_record(refunds_90d=5, refunded_cents_90d=9000)

    assert decide("credit", "agent", 1000, 0, risky, LIMITS) == Decision("done")


def test_without_figures_an_agent_refund_is_judged_by_the_limit_alone() -> None:
    assert decide("refund", "agent", 5000, 0, None, LIMITS) == Decision("done")


def test_a_configured_threshold_replaces_the_default() -> None:
    strict = Limits(max_refunds_in_window=0, max_refund_rate=1.0)

    decision = decide("refund", "agent", 100, 0, clean_record(), strict)

    assert decision.reasons == ("this would be refund number 1 in 90 days",)


# --- risk_reasons(): a habit rather than a mishap --------------------------------------------


def test_a_first_or_second_refund_in_90_days_is_not_flagged() -> None:
    assert risk_reasons(clean_record(refunds_90d=0), 100, LIMITS) == []
    assert risk_reasons(clean_record(refunds_90d=1), 100, LIMITS) == []


def test_a_third_refund_in_90_days_is_flagged() -> None:
    reasons = risk_reasons(clean_record(refunds_90d=2), 100, LIMITS)

    assert reasons == ["this would be refund number 3 in 90 days"]


def test_many_refunds_outside_the_window_are_not_counted_against_the_customer() -> None:
    old_habit = clean_record(refunds_lifetime=20, refunded_cents_lifetime=20000,
                             purchased_cents_lifetime=60000)

    assert risk_reasons(old_habit, 100, LIMITS) == []


def test_a_refund_rate_of_exactly_half_is_not_flagged() -> None:
    # 30.00 refunded before + 20.00 now = 50.00 of 100.00 purchased
    assert risk_reasons(clean_record(refunded_cents_lifetime=3000), 2000, LIMITS) == []


def test_a_refund_rate_one_cent_over_half_is_flagged() -> None:
    reasons = risk_reasons(clean_record(refunded_cents_lifetime=3000), 2001, LIMITS)

    assert reasons == ["the refund rate would be 50% of everything bought"]


def test_the_rate_counts_the_refund_being_asked_for() -> None:
    assert risk_reasons(clean_record(), 5000, LIMITS) == []
    assert risk_reasons(clean_record(), 5001, LIMITS) != []


def test_a_refund_of_an_order_bought_long_ago_is_judged_on_the_whole_history() -> None:
    """Nothing bought in 90 days is no sign of abuse: the rate looks at everything bought."""
    no_recent_purchase = clean_record(purchased_cents_90d=0)

    assert risk_reasons(no_recent_purchase, 100, LIMITS) == []


def test_a_refund_with_nothing_ever_bought_counts_as_a_full_refund_rate() -> None:
    nothing_bought = clean_record(purchased_cents_90d=0, purchased_cents_lifetime=0)

    reasons = risk_reasons(nothing_bought, 100, LIMITS)

    assert reasons == ["the refund rate would be 100% of everything bought"]


# --- figures(): what the agent sees beside every refund ------------------------------------


def test_a_new_customer_with_nothing_bought_or_refunded_has_zero_figures() -> None:
    result = figures([], [], customer_since=NOW, now=NOW)

    assert result == RefundFigures(0, 0, 0, 0, 0, 0, 0, 0)
    assert result.refund_rate_90d == 0.0
    assert result.refund_rate_lifetime == 0.0


def test_refunds_inside_the_window_count_and_those_outside_count_only_for_lifetime() -> None:
    refunds = [PastRefund(1000, days_ago(10), True), PastRefund(2000, days_ago(89), True),
               PastRefund(4000, days_ago(200), True)]

    result = figures([], refunds, customer_since=days_ago(400), now=NOW)

    assert result.refunds_90d == 2
    assert result.refunded_cents_90d == 3000
    assert result.refunds_lifetime == 3
    assert result.refunded_cents_lifetime == 7000


def test_purchases_inside_the_window_count_and_those_outside_count_only_for_lifetime() -> None:
    purchases = [Purchase(5000, days_ago(1)), Purchase(7000, days_ago(91))]

    result = figures(purchases, [], customer_since=days_ago(400), now=NOW)

    assert result.purchased_cents_90d == 5000
    assert result.purchased_cents_lifetime == 12000


def test_a_refund_exactly_90_days_ago_is_still_inside_the_window() -> None:
    result = figures([], [PastRefund(1000, days_ago(90), True)], days_ago(400), NOW)

    assert result.refunds_90d == 1
    assert result.refunded_cents_90d == 1000


def test_a_refund_one_second_more_than_90_days_ago_is_outside_the_window() -> None:
    just_outside = NOW - WINDOW - timedelta(seconds=1)

    result = figures([], [PastRefund(1000, just_outside, True)], days_ago(400), NOW)

    assert result.refunds_90d == 0
    assert result.refunded_cents_90d == 0
    assert result.refunds_lifetime == 1


def test_a_purchase_exactly_90_days_ago_is_inside_and_one_second_earlier_is_outside() -> None:
    purchases = [Purchase(1000, days_ago(90)),
                 Purchase(2000, NOW - WINDOW - timedelta(seconds=1))]

    result = figures(purchases, [], days_ago(400), NOW)

    assert result.purchased_cents_90d == 1000
    assert result.purchased_cents_lifetime == 3000


def test_the_refund_rate_is_refunded_over_purchased_in_the_window_and_for_lifetime() -> None:
    purchases = [Purchase(10000, days_ago(5)), Purchase(10000, days_ago(300))]
    refunds = [PastRefund(2500, days_ago(3), True), PastRefund(7500, days_ago(250), True)]

    result = figures(purchases, refunds, days_ago(400), NOW)

    assert result.refund_rate_90d == 0.25
    assert result.refund_rate_lifetime == 0.5


def test_refunds_with_no_purchase_at_all_give_a_rate_of_one_rather_than_a_division_error(
) -> None:
    result = figures([], [PastRefund(1000, days_ago(1), True)], days_ago(10), NOW)

    assert result.refund_rate_90d == 1.0
    assert result.refund_rate_lifetime == 1.0


def test_refunds_asked_without_any_prior_support_contact_are_counted_over_a_lifetime() -> None:
    refunds = [PastRefund(100, days_ago(1), prior_contact=False),
               PastRefund(100, days_ago(2), prior_contact=True),
               PastRefund(100, days_ago(300), prior_contact=False)]

    result = figures([], refunds, days_ago(400), NOW)

    assert result.refunds_without_prior_contact == 2


def test_a_refund_asked_after_an_earlier_conversation_had_prior_contact() -> None:
    assert prior_contact(days_ago(1), [days_ago(30), days_ago(1)])


def test_a_refund_asked_in_the_customers_first_conversation_had_no_prior_contact() -> None:
    assert not prior_contact(days_ago(1), [days_ago(1)])
    assert not prior_contact(days_ago(1), [days_ago(1), days_ago(0)])


def test_a_customer_who_never_talked_to_support_had_no_prior_contact() -> None:
    assert not prior_contact(days_ago(1), [])


def test_customer_age_is_counted_in_whole_days() -> None:
    assert figures([], [], days_ago(30), NOW).customer_age_days == 30
    assert figures([], [], NOW - timedelta(days=30, hours=23), NOW).customer_age_days == 30
    assert figures([], [], NOW - timedelta(hours=23), NOW).customer_age_days == 0


def test_a_customer_since_after_now_is_aged_zero_days_not_negative() -> None:
    assert figures([], [], NOW + timedelta(days=2), NOW).customer_age_days == 0


def test_figures_as_a_dict_carry_the_rates_rounded_to_four_places() -> None:
    purchases = [Purchase(3000, days_ago(1))]
    refunds = [PastRefund(1000, days_ago(1), True)]

    shown = figures(purchases, refunds, days_ago(100), NOW).as_dict()

    assert shown["refund_rate_90d"] == 0.3333
    assert shown["refund_rate_lifetime"] == 0.3333
    assert shown["refunds_90d"] == 1
    assert shown["customer_age_days"] == 100
    assert all(isinstance(value, int) for key, value in shown.items() if "rate" not in key)


# --- refundable() and check_refund(): never more in all than the order ---------------------


def test_an_order_with_nothing_refunded_is_refundable_in_full() -> None:
    assert refundable(10000, 0, 0) == 10000


def test_what_is_refunded_and_what_waits_for_approval_are_both_taken_off() -> None:
    assert refundable(10000, refunded=3000, reserved=2000) == 5000


def test_refundable_never_goes_below_zero() -> None:
    assert refundable(10000, refunded=8000, reserved=5000) == 0


def test_the_shops_own_refunds_count_only_beyond_ours() -> None:
    # ours were carried out in the shop with the manual provider: the shop reports them too
    assert refundable(10000, refunded=3000, reserved=0, shop_refunded=3000) == 7000
    assert refundable(10000, refunded=3000, reserved=0, shop_refunded=5000) == 5000
    assert refundable(10000, refunded=3000, reserved=1000, shop_refunded=0) == 6000
    assert refundable(10000, refunded=0, reserved=2000, shop_refunded=9000) == 0


def test_a_refund_beyond_what_the_shop_refunded_is_refused() -> None:
    check_refund(usd(10000), usd(4000), refunded=0, reserved=0, shop_refunded=6000)
    with pytest.raises(LedgerError) as refused:
        check_refund(usd(10000), usd(4001), refunded=0, reserved=0, shop_refunded=6000)
    assert refused.value.code == "over_refundable"


def test_a_refund_of_the_whole_order_is_allowed() -> None:
    check_refund(usd(10000), usd(10000), refunded=0, reserved=0)


def test_several_partial_refunds_may_add_up_to_exactly_the_order_amount() -> None:
    order, refunded = usd(10000), 0
    for part in (2500, 2500, 3000, 2000):
        check_refund(order, usd(part), refunded, reserved=0)
        refunded += part

    assert refunded == 10000
    assert refundable(10000, refunded, 0) == 0


def test_one_cent_more_than_what_is_left_is_refused_as_over_refundable() -> None:
    with pytest.raises(LedgerError) as refused:
        check_refund(usd(10000), usd(2501), refunded=7500, reserved=0)

    assert refused.value.status == 409
    assert refused.value.code == "over_refundable"
    assert refused.value.message == "only 25.00 USD of this order can be refunded"
    assert str(refused.value) == refused.value.message


def test_a_fully_refunded_order_refuses_even_one_cent() -> None:
    with pytest.raises(LedgerError) as refused:
        check_refund(usd(10000), usd(1), refunded=10000, reserved=0)

    assert refused.value.status == 409
    assert refused.value.message == "only 0.00 USD of this order can be refunded"


def test_a_pending_approval_reserves_its_amount_against_what_is_refundable() -> None:
    check_refund(usd(10000), usd(4000), refunded=0, reserved=6000)

    with pytest.raises(LedgerError) as refused:
        check_refund(usd(10000), usd(4001), refunded=0, reserved=6000)

    assert refused.value.code == "over_refundable"
    assert "40.00 USD" in refused.value.message


def test_what_is_left_is_named_in_the_order_s_own_minor_unit() -> None:
    with pytest.raises(LedgerError) as refused:
        check_refund(Money(1500, "JPY"), Money(1501, "JPY"), refunded=0, reserved=0)

    assert refused.value.message == "only 1,500 JPY of this order can be refunded"


def test_a_refund_in_another_currency_is_refused_as_a_mismatch() -> None:
    with pytest.raises(LedgerError) as refused:
        check_refund(usd(10000), Money(100, "EUR"), refunded=0, reserved=0)

    assert refused.value.status == 422
    assert refused.value.code == "currency_mismatch"
    assert refused.value.message == "the order is in USD, not EUR"


def test_a_currency_mismatch_is_reported_before_an_over_refund() -> None:
    with pytest.raises(LedgerError) as refused:
        check_refund(usd(100), Money(999999, "EUR"), refunded=100, reserved=0)

    assert refused.value.code == "currency_mismatch"


# --- share(): a percentage rounded down ------------------------------------------------------


def test_three_refunds_of_33_percent_never_add_up_to_more_than_the_whole() -> None:
    parts = [share(1000, 33) for _ in range(3)]

    assert parts == [330, 330, 330]
    assert sum(parts) <= 1000


def test_a_share_is_rounded_down_never_up() -> None:
    assert share(999, 50) == 499
    assert share(1, 99) == 0
    assert share(1999, 33) == 659  # 659.67


def test_100_percent_is_the_whole_amount_and_0_percent_is_nothing() -> None:
    assert share(1999, 100) == 1999
    assert share(1999, 0) == 0


@pytest.mark.parametrize("percent", [-1, 101, 1000])
def test_a_percent_out_of_range_is_refused(percent: int) -> None:
    with pytest.raises(LedgerError) as refused:
        share(1000, percent)

    assert refused.value.status == 422
    assert refused.value.code == "bad_request"


def test_a_fractional_percent_is_refused_so_a_share_is_always_whole_minor_units() -> None:
    # BUG: a float percent passes the range check and share(1000, 33.5) returns the float
    # 335.0, which breaks "integer minor units, never floats".
    with pytest.raises(LedgerError):
        share(1000, 33.5)  # type: ignore[arg-type]


# --- may_approve(): who may approve a pending request ---------------------------------------


@pytest.mark.parametrize("kind", ["refund", "credit"])
def test_an_agent_may_never_approve(kind: str) -> None:
    assert may_approve("agent", kind, 1, 0, LIMITS) is False  # type: ignore[arg-type]


def test_an_unknown_role_may_never_approve() -> None:
    assert may_approve("intern", "refund", 1, 0, LIMITS) is False


def test_a_supervisor_approves_within_their_own_limit_and_not_beyond() -> None:
    assert may_approve("supervisor", "refund", 50000, 0, LIMITS) is True
    assert may_approve("supervisor", "refund", 50001, 0, LIMITS) is False
    assert may_approve("supervisor", "credit", 50000, 0, LIMITS) is True
    assert may_approve("supervisor", "credit", 50001, 0, LIMITS) is False


def test_a_supervisors_limit_counts_what_the_conversation_was_already_given() -> None:
    assert may_approve("supervisor", "refund", 5000, 45000, LIMITS) is True
    assert may_approve("supervisor", "refund", 5001, 45000, LIMITS) is False
    assert may_approve("admin", "refund", 5001, 45000, LIMITS) is True


def test_an_admin_approves_any_amount() -> None:
    assert may_approve("admin", "refund", 10**12, 0, LIMITS) is True
    assert may_approve("admin", "credit", 10**12, 0, LIMITS) is True


def test_a_supervisor_given_no_limit_approves_any_amount() -> None:
    limits = Limits(refund={"agent": 5000, "supervisor": None, "admin": None})

    assert may_approve("supervisor", "refund", 10**12, 0, limits) is True


# --- credit_balance(): unexpired store credit per currency ----------------------------------


def test_credit_without_expiry_is_kept() -> None:
    assert credit_balance([(usd(500), None)], NOW) == {"USD": 500}


def test_credit_expiring_later_is_kept() -> None:
    later = NOW + timedelta(seconds=1)

    assert credit_balance([(usd(500), later)], NOW) == {"USD": 500}


def test_credit_that_expired_is_left_out() -> None:
    assert credit_balance([(usd(500), days_ago(1))], NOW) == {}


def test_credit_expiring_exactly_now_counts_as_expired() -> None:
    assert credit_balance([(usd(500), NOW)], NOW) == {}


def test_balances_are_summed_per_currency_and_never_mixed() -> None:
    credits = [(usd(500), None), (Money(300, "EUR"), None), (usd(250), NOW + WINDOW),
               (usd(10000), days_ago(1)), (Money(700, "EUR"), NOW)]

    assert credit_balance(credits, NOW) == {"USD": 750, "EUR": 300}


def test_a_customer_with_no_credit_has_no_balance() -> None:
    assert credit_balance([], NOW) == {}


# --- parse_time(): ISO-8601 to an aware UTC datetime ----------------------------------------


def test_a_time_with_a_z_suffix_is_utc() -> None:
    assert parse_time("2024-06-01T12:00:00Z") == NOW
    assert parse_time("2024-06-01T12:00:00Z").tzinfo is UTC  # type: ignore[union-attr]


def test_a_time_with_an_offset_is_converted_to_utc() -> None:
    moment = parse_time("2024-06-01T14:30:00+02:30")

    assert moment == NOW
    assert moment is not None and moment.tzinfo is UTC
    assert moment.hour == 12


def test_a_time_west_of_utc_moves_forward_and_may_change_the_date() -> None:
    moment = parse_time("2024-05-31T20:00:00-05:00")

    assert moment is not None
    assert (moment.date().isoformat(), moment.hour, moment.tzinfo) == ("2024-06-01", 1, UTC)


def test_a_time_without_a_zone_is_taken_as_utc() -> None:
    moment = parse_time("2024-06-01T12:00:00")

    assert moment == NOW
    assert moment is not None and moment.tzinfo is UTC


def test_no_time_gives_none() -> None:
    assert parse_time(None) is None


def test_a_time_that_is_not_iso_8601_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_time("yesterday")


# --- check_order_update(): what an order with refunds may no longer become -------------------


def test_an_order_without_refunds_may_become_anything() -> None:
    check_order_update(Money(5000, "USD"), Money(0, "EUR"), 0, 0, new_buyer=True)


@pytest.mark.parametrize(("after", "new_buyer", "code"), [
    (Money(2999, "USD"), False, "amount_below_refunded"),
    (Money(5000, "EUR"), False, "currency_locked"),
    (Money(5000, "USD"), True, "customer_locked"),
])
def test_an_order_with_refunds_or_reservations_keeps_its_currency_buyer_and_their_sum(
        after: Money, new_buyer: bool, code: str) -> None:
    with pytest.raises(LedgerError) as refused:
        check_order_update(Money(5000, "USD"), after, 2000, 1000, new_buyer=new_buyer)
    assert (refused.value.status, refused.value.code) == (409, code)


def test_an_order_with_refunds_may_go_down_to_their_sum() -> None:
    check_order_update(Money(5000, "USD"), Money(3000, "USD"), 2000, 1000, new_buyer=False)


def test_the_visitor_is_told_a_refund_with_its_order_and_a_credit_with_its_amount() -> None:
    assert visitor_notice("refund", usd(1050), "1042") == (
        "A refund of 10.50 USD for order 1042 has been issued.")
    assert visitor_notice("credit", usd(500), None) == (
        "5.00 USD of store credit has been added to your account.")
