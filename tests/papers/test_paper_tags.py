"""Template helpers: relative dates and http-only links."""

from datetime import UTC, datetime, timedelta

import pytest

from papers.pagecache import PLACEHOLDER
from papers.templatetags.paper_tags import http_url, relative_label, relative_time, stored_time

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (NOW - timedelta(days=3, hours=5), "3\xa0days ago"),
        (NOW - timedelta(hours=2, minutes=59), "2\xa0hours ago"),
        (NOW - timedelta(seconds=10), "just now"),
        (NOW + timedelta(days=1), "just now"),
    ],
)
def test_relative_time_shows_one_unit_and_the_full_date_on_hover(value, label):
    html = relative_time(value, NOW)
    assert f">{label}</time>" in html
    assert f'datetime="{value.isoformat()}"' in html
    assert f'title="{value.day} November 2026, {value:%H:%M} UTC"' in html


def test_relative_time_of_nothing_is_empty():
    assert relative_time(None, NOW) == "" == stored_time(None)


@pytest.mark.parametrize("ago", [timedelta(days=400), timedelta(days=3, hours=5), timedelta(minutes=2), timedelta(0)])
def test_a_stored_time_filled_with_its_label_is_the_relative_time(ago):
    value = NOW - ago
    stored = stored_time(value)
    (marked,) = PLACEHOLDER.findall(stored)  # the label alone waits for "now"
    filled = PLACEHOLDER.sub(lambda match: relative_label(value, NOW), stored)
    assert marked[0] == "ago" and filled == relative_time(value, NOW)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://arxiv.org/abs/1", "https://arxiv.org/abs/1"),
        ("HTTP://example.org", "HTTP://example.org"),
        ("javascript:alert(1)", ""),
        (" javascript:alert(1)", ""),
        ("data:text/html,x", ""),
        ("//evil.example", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_http_url_keeps_only_http_links(url, shown):
    assert http_url(url) == shown
