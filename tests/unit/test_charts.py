"""The dashboard's pure helpers: local days across DST, percentiles, buckets, deltas, chart
geometry, CSV escaping."""

from datetime import UTC, date, datetime

from portal.backoffice import charts


def test_day_bounds_follow_the_viewers_zone_across_dst():
    days = charts.day_bounds(date(2026, 3, 28), date(2026, 3, 30), "Europe/Paris")
    assert [d for d, _, _ in days] == [date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)]
    assert days[0][1] == datetime(2026, 3, 27, 23, tzinfo=UTC)
    assert days[1][1] == datetime(2026, 3, 28, 23, tzinfo=UTC)
    assert days[2][1] == datetime(2026, 3, 29, 22, tzinfo=UTC)  # 23-hour day before
    assert (days[1][2] - days[1][1]).total_seconds() == 23 * 3600
    autumn = charts.day_bounds(date(2026, 10, 25), date(2026, 10, 25), "Europe/Paris")
    assert (autumn[0][2] - autumn[0][1]).total_seconds() == 25 * 3600
    india = charts.day_bounds(date(2026, 1, 1), date(2026, 1, 1), "Asia/Kolkata")
    assert india[0][1] == datetime(2025, 12, 31, 18, 30, tzinfo=UTC)


def test_previous_period_has_the_same_length():
    assert charts.previous_period(date(2026, 3, 1), date(2026, 3, 31)) == (date(2026, 1, 29), date(2026, 2, 28))


def test_percentile_nearest_rank():
    assert charts.percentile({}, 0.5) is None
    assert charts.percentile({1: 1, 2: 1, 3: 1, 4: 1}, 0.5) == 2
    assert charts.percentile({10: 1, 30: 1, 90: 1}, 0.5) == 30
    assert charts.percentile({10: 1, 30: 1, 90: 1}, 0.9) == 90
    assert charts.percentile({5: 90, 100: 10}, 0.9) == 5
    assert charts.percentile({5: 89, 100: 11}, 0.9) == 100


def test_buckets_match_their_sql():
    assert [charts.bucket(m) for m in (0, 59, 60, 64, 599, 600, 629, 2999, 3000, 3119)] == [
        0,
        59,
        60,
        60,
        595,
        600,
        600,
        2970,
        3000,
        3000,
    ]
    assert "CASE WHEN x < 60" in charts.BUCKET_SQL.format("x")


def test_changes_and_formats():
    assert charts.change(112, 100)["text"] == "▲ 12.0%"
    assert charts.change(50, 100)["text"] == "▼ 50.0%"
    assert charts.change(5, 0) is None
    assert charts.change(80.0, 75.0, points=True)["text"] == "▲ 5.0 pt"
    assert charts.change(None, 3) is None
    assert charts.duration(45) == "45 min" and charts.duration(125) == "2 h 05 min" and charts.duration(None) == "—"
    assert charts.percent(66.666) == "66.7%" and charts.ratio(1, 0) is None


def test_line_chart_geometry():
    c = charts.line_chart(["a", "b", "c"], {"Created": [0, 5, 10], "Solved": [10, 0, 0]}, width=148, height=134)
    assert [t.label for t in c["ticks"]] == ["0", "2.5", "5", "7.5", "10"]
    assert c["lines"][0]["points"] == "48.0,110.0 94.0,60.0 140.0,10.0"
    assert [x["label"] for x in c["xlabels"]] == ["a", "b", "c"]
    single = charts.line_chart(["a"], {"x": [0]})
    assert single["ticks"][-1].value == 1


def test_nice_max_and_bars():
    assert [charts.nice_max(v) for v in (0, 3, 7, 12, 2400)] == [1, 5, 10, 20, 2500]
    bars = charts.bar_chart(["A", "B"], [50, 100])
    assert bars["bars"][1]["width"] == 2 * bars["bars"][0]["width"]


def test_csv_cells_that_start_like_formulas_are_escaped():
    assert charts.csv_cell("=1+1") == "'=1+1"
    assert charts.csv_cell("+33 6 12") == "'+33 6 12"
    assert charts.csv_cell("-2") == "'-2"
    assert charts.csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert charts.csv_cell("\tx") == "'\tx" and charts.csv_cell("\rx") == "'\rx"
    assert charts.csv_cell("Plain, text") == "Plain, text"
    assert charts.csv_cell(-3) == "-3" and charts.csv_cell(2.25) == "2.2" and charts.csv_cell(None) == ""
    text = charts.csv_text(["Name", "Comment"], [["Ann", '=HYPERLINK("x")']])
    assert text == 'Name,Comment\r\nAnn,"\'=HYPERLINK(""x"")"\r\n'
