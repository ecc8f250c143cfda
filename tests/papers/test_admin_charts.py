"""The admin index charts: counts per day over 30 days, drawn as SVG without inline styles."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from papers.admin_charts import DAYS, admin_charts
from papers.charts import Chart, Series, last_days, nice_ticks
from papers.models import Upvote
from tests.factories import CuratorFactory, PaperFactory, UpvoteFactory

pytestmark = pytest.mark.django_db


def by_key(now):
    return {chart.key: chart for chart in admin_charts(now=now)}


def test_counts_per_day_for_papers_and_upvotes():
    now = timezone.now()
    papers = [
        PaperFactory(created_at=now - timedelta(days=2)),
        PaperFactory(created_at=now - timedelta(days=40)),  # outside the window
        PaperFactory(created_at=now),
    ]
    UpvoteFactory.create_batch(2, paper=papers[2])

    charts = by_key(now)
    today, two_days_ago = timezone.localdate(now), timezone.localdate(now - timedelta(days=2))
    papers_chart = charts["papers"]
    assert len(papers_chart.days) == DAYS and papers_chart.days[-1] == today
    assert papers_chart.series[0].counts == {today: 1, two_days_ago: 1}
    assert papers_chart.total == 2 and papers_chart.peak == 1
    assert charts["upvotes"].series[0].counts == {today: 2}
    tallest = max(charts["upvotes"].bars, key=lambda bar: bar.height)
    assert tallest.y + tallest.height == charts["upvotes"].baseline and tallest.title.endswith("2 upvotes")


def test_admin_index_draws_svg_charts_without_inline_styles(client):
    client.force_login(CuratorFactory())
    UpvoteFactory()
    html = client.get(reverse("admin:index")).content.decode()
    start = html.index('<section class="paperhub-charts"')
    section = html[start : html.index("</section>", start)]
    # The catalogue's two charts, and one for each chart other apps registered (subscriptions: digests);
    # a chart with nothing to draw says so instead of drawing an empty SVG.
    charts = admin_charts(now=timezone.now())
    assert section.count("<svg viewBox") == sum(1 for chart in charts if chart.total)
    assert section.count("No data yet: nothing in the last 30 days.") == sum(1 for chart in charts if not chart.total)
    assert "Papers imported per day" in section and "Upvotes per day" in section
    assert re.search(r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+" fill="#', section)
    assert "style=" not in section and "<style" not in section and "<script" not in section
    assert "css/admin_charts.css" in html
    assert Upvote.objects.count() == 1 and get_user_model().objects.count() >= 1


@pytest.mark.parametrize(
    ("peak", "ticks"),
    [
        (0, [0]),
        (1, [0, 1]),
        (2, [0, 1, 2]),
        (3, [0, 1, 2, 3]),
        (7, [0, 5, 10]),
        (17, [0, 10, 20]),
        (260, [0, 100, 200, 300]),
    ],
)
def test_value_ticks_are_few_and_round(peak, ticks):
    assert nice_ticks(peak) == ticks


def test_axis_labels_every_week_and_a_hover_title_for_every_day(now):
    days, _, _ = last_days(now=now)
    chart = Chart("c", "C", days, [Series("upvotes", "#000", {days[-1]: 7, days[0]: 1})]).layout()
    assert [label.day for label in chart.day_labels] == [days[1], days[8], days[15], days[22], days[29]]
    assert [t.value for t in chart.ticks] == [0, 5, 10] and chart.ticks[0].y == chart.baseline
    assert len(chart.slots) == 30 and chart.slots[-1].title.endswith(": 7 upvotes")
    assert chart.slots[5].title.endswith(": 0 upvotes")
    tallest = max(chart.bars, key=lambda b: b.height)
    assert tallest.height == pytest.approx((chart.baseline - 10) * 7 / 10, abs=0.1)  # against the top tick, 10


def test_the_admin_index_labels_its_axes(client):
    client.force_login(CuratorFactory())
    UpvoteFactory()
    html = client.get(reverse("admin:index")).content.decode()
    start = html.index('<section class="paperhub-charts"')
    section = html[start : html.index("</section>", start)]
    assert re.search(r'text-anchor="middle">\w{3} \d+</text>', section)  # a date every week
    assert re.search(r'text-anchor="end">1</text>', section)  # a value tick
    assert 'preserveAspectRatio="none"' not in section  # labels are never stretched
