"""The readers' side of the demo: the demo readers follow tags and have digest settings.

Synthetic, like the rest of the demo layer: each demo reader follows two demo
tags and one search (a query narrower than any tag, so its digest section
differs from the tags') and gets a daily digest at 08:00 in a different
timezone, so `make run` shows digests arriving in var/mail/ as the morning
comes round the world.
"""

from django.contrib.auth import get_user_model
from django.db import transaction

from papers.models import Tag

from .models import DigestSettings, TagFollow
from .searches import follow_search

DEMO_FOLLOWS = {
    "reader1@example.com": (("negative-sampling", "information-retrieval"), "Europe/Berlin"),
    "reader2@example.com": (("sentiment-analysis", "datasets"), "America/Los_Angeles"),
    "reader3@example.com": (("negation", "llm"), "Asia/Kolkata"),
}
DEMO_SEARCHES = {
    "reader1@example.com": '"hard negatives"',
    "reader2@example.com": "emotion",
    "reader3@example.com": "hate speech",
}


@transaction.atomic
def load_demo_follows() -> int:
    """Give each demo reader their tag and search follows and digest settings. Returns follows created."""
    created = 0
    users = {u.email: u for u in get_user_model().objects.filter(email__in=DEMO_FOLLOWS)}
    tags = {t.slug: t for t in Tag.objects.all()}
    for email, (slugs, timezone_name) in DEMO_FOLLOWS.items():
        user = users.get(email)
        if user is None:
            continue
        DigestSettings.objects.get_or_create(user=user, defaults={"timezone": timezone_name, "delivery_hour": 8})
        for slug in slugs:
            if slug in tags:
                _, was_created = TagFollow.objects.get_or_create(user=user, tag=tags[slug])
                created += was_created
        _, was_created = follow_search(user=user, query=DEMO_SEARCHES[email])
        created += was_created
    return created
