"""The KPI change indicator (direction, better or worse by the measure) and the backlog walk."""

from portal.backoffice import charts
from portal.backoffice.kpis import backlog_walk


def test_more_backlog_is_worse_and_more_solved_is_better():
    grew = charts.change(9, 1, better="lower")
    assert (grew["arrow"], grew["verdict"], grew["tone"], grew["text"]) == ("▲", "worse", "bad", "▲ 800.0% (worse)")
    solved = charts.change(9, 1, better="higher")
    assert (solved["verdict"], solved["tone"]) == ("better", "good")
    assert charts.change(1, 2, better="lower")["text"] == "▼ 50.0% (better)"
    assert charts.change(5, 5, better="lower")["text"] == "no change"
    created = charts.change(12, 10)
    assert (created["verdict"], created["tone"], created["text"]) == ("", "flat", "▲ 20.0%")
    assert charts.change(70.0, 80.0, points=True, better="higher")["text"] == "▼ 10.0 pt (worse)"


def test_direction_follows_the_values_even_from_below_zero():
    assert charts.change(90, -1, better="lower")["arrow"] == "▲"


def test_backlog_walks_back_from_now():
    # Now 3 unsolved; after the range 2 created, 1 finished; days (created, finished).
    before, ends = backlog_walk(3, (2, 1), [(1, 0), (2, 1), (0, 1)])
    assert ends == [2, 3, 2]
    assert before == 1
