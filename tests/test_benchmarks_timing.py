"""benchmarks/_common.py's interleaved timing: the order of the rounds, per-round ratios, medians and spreads."""
import itertools
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from _common import (  # noqa: E402
    interleaved_timings,
    round_order,
    scaled,
    spread,
    spread_against,
    steady_allocator,
    summary,
    with_spread,
)


class FakeMachine:
    """A clock that only the timed functions move: a call of cost c takes c x the machine's slowness at that moment."""

    def __init__(self, slowness):
        self.now, self.calls, self.slowness = 0.0, [], slowness

    def clock(self):
        return self.now

    def method(self, name, cost):
        def run():
            self.now += cost * self.slowness(len(self.calls))
            self.calls.append(name)
        return run


def test_round_order_rotates_and_covers_every_order_of_three():
    names = ["A", "B", "C"]
    orders = [round_order(names, r) for r in range(6)]
    assert orders[:3] == [list("ABC"), list("BCA"), list("CAB")]
    assert sorted(map(tuple, orders)) == sorted(itertools.permutations(names))          # all six orders in six rounds
    assert round_order(names, 6) == orders[0]
    for position in range(3):                                                       # every method in every position
        assert sorted(order[position] for order in orders) == sorted(names * 2)


def test_every_round_times_every_method_once_in_the_rotated_order():
    machine = FakeMachine(lambda k: 1.0)
    fns = {name: machine.method(name, cost) for name, cost in (("floor", 1.0), ("ISTA", 1.2), ("FISTA", 1.5))}
    out = interleaved_timings(fns, repeats=5, warmup=2, reference="floor", clock=machine.clock, no_grad=False)
    assert machine.calls[:6] == ["floor", "ISTA", "FISTA"] * 2                  # the warm-up: 2 calls of each
    timed = machine.calls[6:]
    assert [timed[3 * r:3 * r + 3] for r in range(5)] == out["order"] == [round_order(fns, r) for r in range(5)]
    assert out["rounds"] == 5 and set(out) == {"rounds", "order", "seconds", "ratio", "page_faults"}
    for name, cost in (("floor", 1.0), ("ISTA", 1.2), ("FISTA", 1.5)):
        assert set(out["seconds"][name]) == {"median", "q1", "q3", "min", "max", "n"}
        assert out["seconds"][name]["median"] == pytest.approx(cost) and out["seconds"][name]["n"] == 5
        assert out["ratio"][name]["median"] == pytest.approx(cost)


def test_per_round_ratios_survive_a_load_that_changes_from_round_to_round():
    """The machine is 1x, 3x, 1.5x, 4x, ... slow, changing every round: the seconds spread widely, the ratio of
    two methods timed in the same round does not (the point of interleaving)."""
    slowness = [1.0, 3.0, 1.5, 4.0, 2.0, 1.0, 2.5]
    machine = FakeMachine(lambda k: slowness[(k - 2) // 2] if k >= 2 else 1.0)   # 2 calls a round, after the warm-up
    fns = {"floor": machine.method("floor", 2.0), "method": machine.method("method", 3.0)}
    out = interleaved_timings(fns, repeats=7, reference="floor", clock=machine.clock, no_grad=False)
    seconds, ratio = out["seconds"]["method"], out["ratio"]["method"]
    assert seconds["min"] == pytest.approx(3.0) and seconds["max"] == pytest.approx(12.0)   # the load moves the times
    assert ratio["min"] == pytest.approx(1.5) and ratio["max"] == pytest.approx(1.5)        # not the ratio
    assert out["ratio"]["floor"]["median"] == 1


def test_real_clock_ranks_two_functions_of_known_relative_cost():
    import time

    def spin(seconds):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass

    out = interleaved_timings({"short": lambda: spin(0.002), "long": lambda: spin(0.010)}, repeats=5,
                              reference="short")
    assert out["seconds"]["long"]["median"] >= 0.010 and out["ratio"]["long"]["median"] > 1.5
    assert out["page_faults"]["long"] >= 0


def test_steady_allocator_where_glibc_has_mallopt():
    import platform

    steady = steady_allocator()
    assert isinstance(steady, bool)
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert steady


def test_summary_spread_and_printing():
    s = summary([5.0, 1.0, 4.0, 2.0, 3.0])
    assert s == dict(median=3.0, q1=2.0, q3=4.0, min=1.0, max=5.0, n=5)            # quartiles as numpy.percentile
    assert summary([2.0]) == dict(median=2.0, q1=2.0, q3=2.0, min=2.0, max=2.0, n=1)
    assert scaled(s, 10)["q3"] == 40.0 and scaled(s, 10)["n"] == 5
    assert spread(s) == dict(q1=2.0, q3=4.0, min=1.0, max=5.0, n=5)
    assert with_spread(summary([1.0, 1.2, 1.4]), unit="x") == "1.20x (IQR 1.10-1.30, 3 rounds)"
    assert spread_against(s, "<=", 4.5) == "whole IQR <= 4.5"
    assert spread_against(s, "<=", 3.0) == "IQR straddles 3"
    assert spread_against(s, ">=", 4.5) == "whole IQR misses >= 4.5"


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="reference"):
        interleaved_timings({"a": lambda: None}, repeats=2, reference="b")
    with pytest.raises(ValueError, match="repeats"):
        interleaved_timings({"a": lambda: None}, repeats=0)
    with pytest.raises(ValueError, match="no functions"):
        interleaved_timings({}, repeats=1)
