"""The week grid's placement classes, and that the stylesheet defines every one it can emit."""

from pathlib import Path

from portal.booking import week_grid


def test_rows_are_half_hours_from_six_with_early_and_late_rows():
    assert week_grid.place(10 * 60, 10 * 60 + 30) == "r-10 s-1"
    assert week_grid.place(9 * 60, 12 * 60) == "r-8 s-6"
    assert week_grid.place(9 * 60 + 15, 9 * 60 + 45) == "r-8 s-2"  # touches two half hours
    assert week_grid.place(0, 6 * 60) == "r-1 s-1"  # before 06:00: the early row
    assert week_grid.place(5 * 60, 7 * 60) == "r-1 s-3"
    assert week_grid.place(21 * 60 + 30, 1440) == "r-33 s-2"  # the last half hour and the late row
    assert week_grid.place(23 * 60, 1440) == "r-34 s-1"
    assert week_grid.place(0, 1440) == f"r-1 s-{week_grid.ROWS}"


def test_overlapping_appointments_get_lanes():
    items = [{"minutes": (600, 660)}, {"minutes": (630, 690)}, {"minutes": (660, 720)}, {"minutes": (900, 930)}]
    assert week_grid.assign_lanes(items) == 2
    assert [i["lane"] for i in items] == [1, 2, 1, 1]
    many = [{"minutes": (600, 700)} for _ in range(5)]
    assert week_grid.assign_lanes(many) == week_grid.MAX_LANES
    assert week_grid.assign_lanes([]) == 1


def test_the_stylesheet_has_every_placement_class():
    css = (Path(__file__).parents[2] / "static/css/portal.css").read_text()
    assert week_grid.css() in css
    assert f"grid-template-rows: repeat({week_grid.ROWS}, " in css
