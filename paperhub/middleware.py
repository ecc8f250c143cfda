"""Request checks that every view would otherwise have to repeat."""

from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import BadRequest
from django.urls import reverse
from django.utils.text import smart_split

# The admin ANDs one OR-group per word of its search box into one query: a few
# thousand words overflow SQLite's expression depth and load PostgreSQL for nothing.
ADMIN_SEARCH_MAX_WORDS = 30


class RejectOddRequestsMiddleware:
    """Answer 400 to requests no page can serve, before they reach a query.

    - A NUL character in the path or query string: PostgreSQL text cannot hold
      one, so `?q=%00` or `/papers/%00/` would fail with a 500; no legitimate link
      carries one. (Form fields refuse NUL already: ProhibitNullCharactersValidator.)
    - An admin search of more than ADMIN_SEARCH_MAX_WORDS words.
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
        return self.get_response(request)
