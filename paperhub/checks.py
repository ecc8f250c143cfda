"""System checks of our own: settings that would weaken security or rate limits."""

import re

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

# django-ratelimit's rate syntax: N/s, N/m, N/h, N/d, optionally N/5m.
RATE = re.compile(r"[1-9]\d*/(?:[1-9]\d*)?[smhd]")

PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register(Tags.security, deploy=True)
def check_shared_cache(app_configs, **kwargs):
    """Rate limits (allauth's and ours) count in the cache: a per-process cache lets each web worker count alone."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend in PER_PROCESS_CACHES:
        return [
            Warning(
                "The default cache is per process, so rate limits are counted separately by each web worker.",
                hint="Set CACHE_URL to a shared cache, e.g. redis://host:6379/1.",
                id="paperhub.W001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_site_url(app_configs, **kwargs):
    """Links in emails (verification, digests, unsubscribe) must not send readers to plain http."""
    if not settings.SITE_URL.startswith("https://"):
        return [
            Warning(
                f"SITE_URL is {settings.SITE_URL!r}: links in emails would use plain http.",
                hint="Set SITE_URL=https://your.host",
                id="paperhub.W002",
            )
        ]
    return []


@register()
def check_reader_rate_limit(app_configs, **kwargs):
    """A typo in READER_RATE_LIMIT must stop the start, not the first upvote."""
    text = settings.READER_RATE_LIMIT.strip().lower()
    if text in ("", "off", "none") or RATE.fullmatch(text):
        return []
    message = f"READER_RATE_LIMIT: a rate is N/s, N/m, N/h or N/d (e.g. 60/m), or off, not {text!r}"
    return [Error(message, id="paperhub.E001")]
