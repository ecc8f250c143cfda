"""Request checks that every view would otherwise have to repeat."""

from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import BadRequest
from django.urls import reverse
from django.utils.text import smart_split

# The admin ANDs one OR-group per word of its search box into one query: a few
# thousand words overflow SQLite's expression depth and load PostgreSQL for nothing.
ADMIN_SEARCH_MAX_WORDS = 30
# The admin's date hierarchy (`?published_at__year=…&…__month=…&…__day=…`) computes the end of the
# year, month or day asked for: year 9999 overflows Python's dates (a 500). Years outside a sane
# range (papers/forms.py uses the same one for the search filters) are refused.
ADMIN_YEARS = range(1800, 2200)


class RejectOddRequestsMiddleware:
    """Answer 400 to requests no page can serve, before they reach a query.

    - A NUL character in the path or query string: PostgreSQL text cannot hold
      one, so `?q=%00` or `/papers/%00/` would fail with a 500; no legitimate link
      carries one. (Form fields refuse NUL already: ProhibitNullCharactersValidator.)
    - An admin search of more than ADMIN_SEARCH_MAX_WORDS words.
    - An admin date-hierarchy year outside ADMIN_YEARS.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.admin_prefix = None

    def __call__(self, request):
        if "\x00" in request.path_info or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            raise BadRequest("NUL character in the address")
        if self.admin_prefix is None:
            self.admin_prefix = reverse("admin:index")
        if request.path_info.startswith(self.admin_prefix) and SEARCH_VAR in request.GET:
            words = smart_split(request.GET[SEARCH_VAR])
            if sum(1 for _ in zip(words, range(ADMIN_SEARCH_MAX_WORDS + 1), strict=False)) > ADMIN_SEARCH_MAX_WORDS:
                raise BadRequest("admin search with too many words")
        if request.path_info.startswith(self.admin_prefix):
            for key, value in request.GET.items():
                if key.endswith("__year") and not _year_in_range(value):
                    raise BadRequest(f"year out of range ({ADMIN_YEARS.start} to {ADMIN_YEARS.stop - 1})")
        return self.get_response(request)


def _year_in_range(value: str) -> bool:
    """A year Django's date hierarchy can handle; anything that is not a number it refuses itself."""
    value = value.strip()
    if not value.lstrip("-").isdigit():
        return True
    return len(value) <= 6 and int(value) in ADMIN_YEARS
