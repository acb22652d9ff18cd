"""Pure pieces of the ingest: campaign selection, prefetching, failure sentences."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from orchestration.defs.exotel.schemas import describe_check
from orchestration.defs.exotel.selection import (
    Backfill,
    CampaignRef,
    campaigns_to_pull,
    receipt_window_closed,
)
from orchestration.lib.prefetch import prefetch, prefetch_in_order
from orchestration.lib.pull_ledger import LedgerState
from orchestration.lib.rules import UNRECONCILED_PULL_ATTEMPTS

UTC = dt.UTC


def _ref(cid: str, status: str = "Completed", start_day: int = 1) -> CampaignRef:
    start = dt.datetime(2026, 1, start_day, 5, 0, tzinfo=UTC)  # 10:30 IST
    return CampaignRef("sms", cid, status, start, start, start + dt.timedelta(hours=1))


def test_the_receipt_window_needs_a_terminal_status_and_the_hours_to_pass() -> None:
    end = dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert not receipt_window_closed("Completed", end, end + dt.timedelta(hours=71), 72)
    assert receipt_window_closed("Completed", end, end + dt.timedelta(hours=72), 72)
    assert not receipt_window_closed("In-Progress", end, end + dt.timedelta(days=30), 72)
    assert not receipt_window_closed("Completed", None, end + dt.timedelta(days=30), 72)
    assert receipt_window_closed("Canceled", end, end + dt.timedelta(hours=80), 72)


def test_a_daily_run_pulls_new_and_not_yet_final_campaigns() -> None:
    listed = [_ref("new"), _ref("pending"), _ref("done")]
    chosen = campaigns_to_pull(listed, {"pending": LedgerState(), "done": LedgerState(True)})
    assert [r.campaign_id for r in chosen] == ["new", "pending"]


def test_an_unreconciled_campaign_is_pulled_again_a_bounded_number_of_times() -> None:
    listed = [_ref("short"), _ref("stuck")]
    ledger = {"short": LedgerState(unreconciled_pulls=UNRECONCILED_PULL_ATTEMPTS - 1),
              "stuck": LedgerState(unreconciled_pulls=UNRECONCILED_PULL_ATTEMPTS)}
    assert [r.campaign_id for r in campaigns_to_pull(listed, ledger)] == ["short"]
    assert ledger["stuck"].given_up and not ledger["short"].given_up
    assert not LedgerState(is_final=True, unreconciled_pulls=9).given_up


def test_a_backfill_takes_ids_or_a_local_start_date_range() -> None:
    listed = [_ref("a", start_day=1), _ref("b", start_day=2), _ref("c", start_day=3)]
    finals = {cid: LedgerState(is_final=True) for cid in "abc"}
    by_id = campaigns_to_pull(listed, finals, backfill=Backfill(campaign_ids=frozenset({"c"})))
    assert [r.campaign_id for r in by_id] == ["c"]
    by_date = campaigns_to_pull(
        listed, finals, backfill=Backfill(start_from=dt.date(2026, 1, 2),
                                          start_to=dt.date(2026, 1, 3)))
    assert [r.campaign_id for r in by_date] == ["b", "c"]
    # 20:00 UTC on Jan 1 is Jan 2 in Kolkata: dates are local to the account.
    late = CampaignRef("sms", "late", "Completed", None,
                       dt.datetime(2026, 1, 1, 20, 0, tzinfo=UTC), None)
    only_2nd = Backfill(start_from=dt.date(2026, 1, 2), start_to=dt.date(2026, 1, 2))
    assert campaigns_to_pull([late], {}, backfill=only_2nd) == [late]


def test_prefetch_keeps_order_and_bounds_how_far_it_runs_ahead() -> None:
    produced = []

    def source():
        for i in range(50):
            produced.append(i)
            yield i

    items = prefetch(source(), depth=3)
    assert next(items) == 0
    time.sleep(0.2)
    assert len(produced) <= 1 + 3 + 1  # consumed + queue + one in hand
    assert list(items) == list(range(1, 50))


def test_prefetch_raises_the_producers_error_and_stops_when_abandoned() -> None:
    def failing():
        yield 1
        raise RuntimeError("page 2 broke")

    items = prefetch(failing(), depth=2)
    assert next(items) == 1
    with pytest.raises(RuntimeError, match="page 2 broke"):
        next(items)

    before = threading.active_count()
    abandoned = prefetch(iter(range(10_000)), depth=2)
    next(abandoned)
    abandoned.close()
    time.sleep(0.3)
    assert threading.active_count() <= before


def test_sources_fetched_side_by_side_come_out_whole_and_in_order() -> None:
    """Three campaigns at once, each slow to fetch: their items come out campaign after
    campaign, and the waits overlap (three 0.2 s campaigns take well under 0.6 s)."""
    running, most = [0], [0]
    guard = threading.Lock()

    def campaign(n: int):
        def items():
            with guard:
                running[0] += 1
                most[0] = max(most[0], running[0])
            for page in range(4):
                time.sleep(0.05)
                yield (n, page)
            with guard:
                running[0] -= 1
        return items

    started = time.monotonic()
    out = list(prefetch_in_order((campaign(n) for n in range(6)), workers=3, depth=2))
    assert out == [(n, page) for n in range(6) for page in range(4)]
    assert most[0] == 3 and time.monotonic() - started < 6 * 0.2 * 0.75


def test_a_failing_source_raises_in_its_place_and_the_others_stop() -> None:
    def good(n: int):
        return lambda: iter([n])

    def bad():
        yield "half"
        raise RuntimeError("campaign 2 broke")

    before = threading.active_count()
    items = prefetch_in_order(iter([good(0), bad, good(2)]), workers=2, depth=2)
    assert next(items) == 0 and next(items) == "half"
    with pytest.raises(RuntimeError, match="campaign 2 broke"):
        next(items)
    time.sleep(0.3)
    assert threading.active_count() <= before


@pytest.mark.parametrize(("column", "check", "case", "sentence"), [
    ("sms_sid", "not_nullable", None, "sms_sid is missing"),
    ("from_number", "str_matches('^(\\+[1-9]\\d{7,14}|0[0-9X]{6,14})$')", "98765",
     "from '98765' is not a caller ID"),
    ("cost", "greater_than_or_equal_to(0)", -1.5, "cost -1.5 is negative"),
    ("attempt_number", "greater_than_or_equal_to(1)", 0, "attempt_number 0 is below 1"),
    (None, "end_time_before_start_time", None, "end_time is before start_time"),
])
def test_failed_checks_read_as_sentences(column, check, case, sentence) -> None:
    assert describe_check(column, check, case).startswith(sentence)
