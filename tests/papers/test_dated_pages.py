"""Days, weeks and months of papers: /papers/date|week|month/, the trending tabs' windows, paging."""

import re
from datetime import date, timedelta

import pytest

from papers.dates import Span, latest_span, neighbours
from papers.models import Paper
from tests.factories import PaperFactory, TagFactory

pytestmark = pytest.mark.django_db


def titles(response) -> list[str]:
    return re.findall(r'class="paper-title"><a href="[^"]*">([^<]*)</a>', response.content.decode())


@pytest.fixture
def days(now):
    """Papers on 30 Nov (today, 2), 27 Nov (1), 10 Nov (1); one undated paper added on 27 Nov; a draft on 28 Nov."""
    PaperFactory(title="Today high", published_at=now - timedelta(hours=1), trending_day=5.0)
    PaperFactory(title="Today low", published_at=now - timedelta(hours=2), trending_day=1.0)
    PaperFactory(title="Friday", published_at=now - timedelta(days=3))
    PaperFactory(title="Undated", published_at=None, created_at=now - timedelta(days=3, hours=1))
    PaperFactory(title="Draft", published_at=now - timedelta(days=2), status=Paper.Status.DRAFT)
    PaperFactory(title="Early November", published_at=now - timedelta(days=20), trending_month=3.0)
    return now


@pytest.mark.parametrize(
    ("kind", "text", "start", "end"),
    [
        ("date", "2026-12-02", date(2026, 12, 2), date(2026, 12, 3)),
        ("week", "2026-W49", date(2026, 11, 30), date(2026, 12, 7)),
        ("week", "2026-W01", date(2025, 12, 29), date(2026, 1, 5)),
        ("month", "2026-12", date(2026, 12, 1), date(2027, 1, 1)),
        ("month", "2026-02", date(2026, 2, 1), date(2026, 3, 1)),
    ],
)
def test_spans_parse_and_print_their_urls(kind, text, start, end):
    span = Span.parse(kind, text)
    assert (span.start, span.end, span.slug) == (start, end, text)
    assert span.get_absolute_url() == f"/papers/{kind}/{text}/"


@pytest.mark.parametrize(
    "url", ["/papers/date/2026-02-30/", "/papers/week/2026-W54/", "/papers/month/2026-13/", "/papers/date/2026-1-1/"]
)
def test_impossible_dates_are_404(client, url):
    assert client.get(url).status_code == 404


def test_a_day_lists_its_papers_ranked_by_the_days_score(client, days):
    response = client.get("/papers/date/2026-11-30/")
    assert response.status_code == 200
    assert titles(response) == ["Today high", "Today low"]
    assert "Papers of Monday 30 November 2026" in response.content.decode()


def test_an_undated_paper_is_listed_on_the_day_it_was_added(client, days):
    assert set(titles(client.get("/papers/date/2026-11-27/"))) == {"Friday", "Undated"}


def test_week_and_month_pages(client, days):
    assert set(titles(client.get("/papers/week/2026-W48/"))) == {"Friday", "Undated"}
    assert set(titles(client.get("/papers/week/2026-W49/"))) == {"Today high", "Today low"}
    month = titles(client.get("/papers/month/2026-11/"))
    assert month[0] == "Early November"  # the month's score ranks it first
    assert "Draft" not in month and len(month) == 5


def test_previous_and_next_skip_empty_days(client, days):
    html = client.get("/papers/date/2026-11-27/").content.decode()
    assert 'rel="prev" href="/papers/date/2026-11-10/' in html
    assert 'rel="next" href="/papers/date/2026-11-30/' in html
    # the draft's day (28 Nov) is not a day with papers
    assert "2026-11-28" not in html


def test_neighbours_of_an_empty_span_and_at_the_ends(days):
    papers = Paper.objects.published()
    previous, following = neighbours(papers, Span.parse("date", "2026-11-20"))
    assert (previous.slug, following.slug) == ("2026-11-10", "2026-11-27")
    assert neighbours(papers, Span.parse("date", "2026-11-10"))[0] is None
    assert neighbours(papers, Span.parse("date", "2026-11-30"))[1] is None


def test_an_empty_day_says_so_and_points_to_the_nearest_days(client, days):
    html = client.get("/papers/date/2026-11-20/").content.decode()
    assert "No papers on this day" in html
    assert 'href="/papers/date/2026-11-10/' in html and 'href="/papers/date/2026-11-27/' in html


def test_the_date_picker_works_without_javascript(client, days):
    response = client.get("/papers/date/", {"date": "2026-11-27", "kind": "week"})
    assert response.status_code == 302 and response["Location"] == "/papers/week/2026-W48/"
    assert client.get("/papers/date/", {"date": "2026-11-27"})["Location"] == "/papers/date/2026-11-27/"
    assert client.get("/papers/date/", {"date": "not a date"})["Location"] == "/"
    html = client.get("/papers/date/2026-11-27/").content.decode()
    assert 'action="/papers/date/"' in html and 'type="date" name="date" value="2026-11-27"' in html


def test_a_dated_page_within_a_tag(client, days):
    tag = TagFactory(name="negation")
    Paper.objects.get(title="Friday").tags.add(tag)
    assert titles(client.get("/papers/date/2026-11-27/", {"tag": "negation"})) == ["Friday"]
    jump = client.get("/papers/date/", {"date": "2026-11-27", "tag": "negation"})
    assert jump["Location"] == "/papers/date/2026-11-27/?tag=negation"


def test_today_is_the_latest_day_with_papers(client, days, time_machine):
    assert titles(client.get("/?period=day")) == ["Today high", "Today low"]
    time_machine.move_to(days + timedelta(days=2), tick=False)  # nothing published since
    response = client.get("/?period=day")
    assert titles(response) == ["Today high", "Today low"]
    html = response.content.decode()
    assert 'href="/papers/date/2026-11-30/">Monday 30 November 2026</a>' in html


def test_week_tab_is_the_latest_week_and_all_time_is_everything(client, days):
    assert set(titles(client.get("/?period=week"))) == {"Today high", "Today low"}
    assert len(titles(client.get("/?period=all"))) == 5
    assert len(titles(client.get("/?period=nonsense"))) == 2  # the default tab (this week)


def test_latest_span_ignores_papers_from_the_future(days):
    PaperFactory(title="Future", published_at=days + timedelta(days=3))
    assert latest_span(Paper.objects.published(), "day", now=days).slug == "2026-11-30"


def test_ranked_lists_page_with_next_and_previous_keeping_other_parameters(client, now):
    tag = TagFactory(name="negation")
    for i in range(25):
        PaperFactory(published_at=now - timedelta(minutes=i), tags=[tag])
    html = client.get("/", {"period": "day", "tag": "negation"}).content.decode()
    assert 'rel="next" href="?period=day&amp;tag=negation&amp;page=2">Next page' in html
    assert "Older" not in html
    html = client.get("/", {"period": "day", "tag": "negation", "page": 2}).content.decode()
    assert 'rel="prev" href="?period=day&amp;tag=negation&amp;page=1">← Previous page' in html
    assert "Newer" not in html
    # tabs and chips keep the tag or the period, and go back to the first page
    assert 'href="?period=week&amp;tag=negation"' in html
    assert 'href="?period=day">All tags' in html
