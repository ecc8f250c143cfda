"""The admin index charts: counts per day over 30 days, drawn as SVG without inline styles."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from papers.admin_charts import DAYS, admin_charts
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
    section = html[html.index('<section class="paperhub-charts"') : html.index("</section>")]
    # The catalogue's two charts, and one for each chart other apps registered (subscriptions: digests).
    assert section.count("<svg viewBox") == len(admin_charts(now=timezone.now()))
    assert "Papers imported per day" in section and "Upvotes per day" in section
    assert re.search(r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+" fill="#', section)
    assert "style=" not in section and "<style" not in section and "<script" not in section
    assert "css/admin_charts.css" in html
    assert Upvote.objects.count() == 1 and get_user_model().objects.count() >= 1
