"""The fleet insight on hand-built events: no loop, no socket, no clock."""

from __future__ import annotations

import tracemalloc

import pytest

from ayla_monitor.fleet.insight import FleetInsight, InsightSettings, ack_failed, instant_of
from tests.fleet.support import T0, ack, conn, dp, iso, loc


def test_instant_of_reads_event_times_and_refuses_the_rest() -> None:
    assert instant_of(iso(T0)) == T0
    assert instant_of("2026-01-01T01:00:00+01:00") == T0
    assert instant_of("2026-01-01T00:00:00") == T0  # no zone: UTC
    assert instant_of("yesterday") is None
    assert instant_of(None) is None


def test_flaps_count_changes_of_state_not_repeats() -> None:
    insight = FleetInsight()
    for i, online in enumerate([True, True, False, True, False, False, True]):
        insight.add(conn("A", T0 + i * 60, online))
    device = insight.device("A")
    assert device is not None
    assert device.flaps == 4  # T F, F T, T F, F T
    summary = insight.summary(device, T0 + 400)
    assert summary.flaps_hour == 4 and summary.flaps_day == 4
    assert not summary.flapping  # 6 an hour is flapping
    assert summary.online is True and summary.online_since == T0 + 6 * 60
    assert insight.online_count == 1 and insight.offline_count == 0
    later = insight.summary(device, T0 + 2 * 3600)
    assert later.flaps_hour == 0 and later.flaps_day == 4


def test_a_device_that_drops_three_times_in_an_hour_is_flapping() -> None:
    insight = FleetInsight()
    for i in range(7):
        insight.add(conn("F", T0 + i * 120, i % 2 == 0))
    device = insight.device("F")
    assert device is not None
    assert insight.is_flapping(device, T0 + 800)
    assert not insight.is_flapping(device, T0 + 800 + 3600)
    groups = insight.group_counts(T0 + 800)
    assert groups["model"]["ledevb"].flapping == 1
    assert groups["model"]["ledevb"].online == 1


def test_rhythm_is_the_median_gap_and_quiet_is_five_times_it_and_a_minute() -> None:
    insight = FleetInsight()
    times = [0, 10, 20, 30, 31, 41, 300, 310]  # one burst (1 s) and one pause (259 s)
    for t in times:
        insight.add(loc("Q", T0 + t))
    device = insight.device("Q")
    assert device is not None
    assert device.typical_interval == 10.0  # median of 10,10,10,1,10,259,10
    last = T0 + 310
    assert not insight.is_quiet(device, last + 60)  # 60 s: not more than max(50, 60)
    assert insight.is_quiet(device, last + 61)
    summary = insight.summary(device, last + 61)
    assert summary.quiet and summary.silent_s == 61
    # A device known to be offline is silent, not quiet.
    insight.add(conn("Q", last + 1, False))
    assert not insight.is_quiet(device, last + 1000)


def test_quiet_scales_with_a_slow_device_own_rhythm() -> None:
    settings = InsightSettings(quiet_factor=5, quiet_min_s=60)
    insight = FleetInsight(settings)
    for i in range(5):
        insight.add(loc("S", T0 + i * 600))  # every 10 minutes
    device = insight.device("S")
    assert device is not None
    last = T0 + 4 * 600
    assert not insight.is_quiet(device, last + 2999)
    assert insight.is_quiet(device, last + 3001)
    # Same-second events are one beat; fewer than three gaps: no rhythm, never quiet.
    insight.add(loc("N", T0))
    insight.add(loc("N", T0))
    insight.add(loc("N", T0 + 5))
    n = insight.device("N")
    assert n is not None and n.typical_interval is None
    assert not insight.is_quiet(n, T0 + 10_000)


def test_latency_and_clock_skew() -> None:
    insight = FleetInsight()
    for i in range(40):  # every 4th event's latency is kept: 0, 4, ..., 36
        received = T0 + i + (0.2 if i < 32 else 3.0)
        insight.add(dp("L", T0 + i, "temp", dp_id=f"d{i}", received=received, from_device=T0 + i - 120))
    device = insight.device("L")
    assert device is not None
    summary = insight.summary(device, T0 + 50)
    assert summary.latency_p50_ms == pytest.approx(200, rel=0.02)
    assert summary.latency_p95_ms == pytest.approx(3000, rel=0.02)
    assert summary.skew_s == pytest.approx(-120, rel=0.02)
    assert insight.latency.count == 10


def test_acks_pair_by_id_whichever_stream_delivers_first() -> None:
    insight = FleetInsight()
    insight.add(dp("A", T0, dp_id="1"), "datapoints")
    insight.add(ack("A", T0, T0 + 2, dp_id="1"), "acks")  # datapoint first
    insight.add(ack("A", T0 + 5, T0 + 9, dp_id="2"), "acks")  # ack first
    insight.add(dp("A", T0 + 5, dp_id="2"), "datapoints")
    insight.add(ack("A", T0 + 5, T0 + 9, dp_id="2"), "acks")  # the same ack again
    totals = insight.ack_totals()
    assert (totals.acks, totals.paired, totals.duplicates, totals.failed) == (2, 2, 1, 0)
    assert totals.latency_p50_ms == pytest.approx(2000, rel=0.02)
    assert totals.latency_p95_ms == pytest.approx(4000, rel=0.02)
    assert totals.by_property["Blue_LED"][0] == 2
    device = insight.device("A")
    assert device is not None
    summary = insight.summary(device, T0 + 10)
    assert summary.acks == 2 and summary.ack_p95_ms == pytest.approx(4000, rel=0.02)
    assert [s.name for s in insight.streams()] == ["acks", "datapoints"]
    assert insight.streams()[0].events == 3


def test_failed_acks_by_status() -> None:
    assert not ack_failed(200, 0) and not ack_failed(204, "0") and not ack_failed(201, None)
    assert ack_failed(500, 0) and ack_failed(200, "device busy") and ack_failed(None, 0)
    insight = FleetInsight()
    cases = [(200, 0), (500, 0), (200, 1), (404, "not found"), (500, "busy"), (None, None)]
    for i, (status, message) in enumerate(cases):
        insight.add(ack("A", T0 + i, T0 + i + 1, dp_id=str(i), status=status, message=message))
    totals = insight.ack_totals()
    assert totals.failed == 5
    assert totals.failed_by_status == {"200": 1, "404": 1, "500": 2, "none": 1}
    device = insight.device("A")
    assert device is not None and device.failed == 5


def test_missing_acks_only_on_properties_that_are_acked_and_only_after_the_wait() -> None:
    insight = FleetInsight(InsightSettings(ack_timeout_s=60))
    insight.add(dp("A", T0, "Blue_LED", dp_id="first"))  # never acked, before any ack: not missing
    insight.add(dp("A", T0, "temp", dp_id="t1"))  # an output property: never acked, never missing
    insight.add(dp("A", T0 + 1, "Blue_LED", dp_id="1"))
    insight.add(ack("A", T0 + 1, T0 + 3, "Blue_LED", dp_id="1"))
    insight.add(dp("A", T0 + 10, "Blue_LED", dp_id="2"))  # no ack comes
    insight.add(dp("A", T0 + 20, "Blue_LED", dp_id="3"))  # acked after 45 s: in time
    insight.add(ack("A", T0 + 20, T0 + 65, "Blue_LED", dp_id="3"))
    assert insight.missing == 1  # "first" expired at T0+60 with the property acked by then; "2" waits
    assert insight.pending == 1
    insight.advance(T0 + 69)
    assert insight.missing == 1
    insight.advance(T0 + 70)
    assert insight.missing == 2 and insight.pending == 0
    device = insight.device("A")
    assert device is not None and device.missing == 2
    totals = insight.ack_totals()
    assert (totals.paired, totals.missing, totals.pending) == (2, 2, 0)


def test_the_wait_list_is_capped() -> None:
    insight = FleetInsight(InsightSettings(max_waiting=100))
    insight.add(ack("A", T0, T0, dp_id="acked"))  # Blue_LED is a property that gets acks
    for i in range(250):
        insight.add(dp("A", T0, dp_id=str(i)))
    assert insight.pending == 100 and insight.untracked == 150


def test_stream_inputs_reconnects_gaps_conflicts() -> None:
    insight = FleetInsight()
    insight.note_reconnect("s")
    insight.note_reconnect("s")
    insight.note_conflict("s")
    insight.note_gap("s", 10, 14, "open", T0)
    insight.note_gap("s", 20, 20, "filled", T0 + 5)
    (s,) = insight.streams()
    assert (s.reconnects, s.conflicts, s.gap_count, s.missing_seqs) == (2, 1, 2, 6)
    assert [(g.first, g.last, g.state) for g in s.gaps] == [(10, 14, "open"), (20, 20, "filled")]


def test_a_talker_spike_against_its_own_rate_and_top_talkers() -> None:
    insight = FleetInsight(InsightSettings(spike_factor=3, spike_min_per_minute=30))
    minute0 = T0  # T0 is on a whole minute
    for m in range(10):  # 10 a minute for ten minutes
        for i in range(10):
            insight.add(loc("T", minute0 + m * 60 + i))
        insight.add(loc("calm", minute0 + m * 60 + 30))
    for i in range(60):  # then 60 in minute 10
        insight.add(loc("T", minute0 + 600 + i))
    now = minute0 + 11 * 60 + 5
    device = insight.device("T")
    assert device is not None
    assert insight.is_spiking(device.rate, now)
    assert insight.spiking(now) == ["", "T"]  # "": the fleet's own rate spiked with it
    assert insight.top_talkers(now, 1) == [("T", 60.0)]
    assert insight.top_talkers(None, 2) == [("T", 160.0), ("calm", 10.0)]
    summary = insight.summary(device, now)
    assert summary.spike and summary.events_per_min == 60
    insight.add(loc("T", minute0 + 12 * 60))  # minute 11 closes: the spike is recorded
    assert [(s.dsn, s.count) for s in insight.spikes] == [(None, 60), ("T", 60)]
    assert device.spikes == 1


def test_counts_by_model_oem_and_tag() -> None:
    insight = FleetInsight()
    insight.add(conn("a", T0, True, model="plug", tags=("lab", "beta")))
    insight.add(conn("b", T0, False, model="plug", tags=("lab",)))
    insight.add(loc("c", T0))
    groups = insight.group_counts(T0 + 1)
    plug = groups["model"]["plug"]
    assert (plug.devices, plug.online, plug.offline) == (2, 1, 1)
    assert groups["tag"]["lab"].devices == 2 and groups["tag"]["beta"].devices == 1
    assert groups["tag"][""].devices == 1 and groups["tag"][""].unknown == 1
    assert groups["oem"]["0dfc7900"].devices == 3


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="quiet_factor"):
        InsightSettings(quiet_factor=-1)
    with pytest.raises(ValueError, match="1 or more"):
        InsightSettings(flapping_per_hour=0)


def test_memory_stays_bounded_for_ten_thousand_devices() -> None:
    """10,000 devices, each online, acked and with a latency spread, a day of flaps."""
    insight = FleetInsight()
    tracemalloc.start()
    try:
        for n in range(10_000):
            dsn = f"AC{n:08d}"
            insight.add(conn(dsn, T0, True, received=T0 + 0.1))
            for i in range(1):
                insight.add(dp(dsn, T0 + i * 30, dp_id=f"{n}-{i}", received=T0 + i * 30 + 0.05 * i))
                insight.add(ack(dsn, T0 + i * 30, T0 + i * 30 + i, dp_id=f"{n}-{i}"))
        insight.advance(T0 + 3600)
        current, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(insight) == 10_000
    assert insight.paired == 10_000
    assert current < 60 * 1024 * 1024, f"{current / 1e6:.0f} MB"
