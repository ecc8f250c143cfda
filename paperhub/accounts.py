"""paperhub's allauth adapter: account emails in the site's own voice, with links built from SITE_URL,
and the client address that every limit uses (paperhub.clientip).

allauth builds the links in its emails from the request (its Host header), so a
request with `Host: 127.0.0.1:6666` put that port into a password-reset link.
Here every absolute URL the request's host produced in an email's context is
rewritten onto SITE_URL, and the site is called "paperhub", whatever the host.
"""

from dataclasses import dataclass
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings

from .clientip import client_ip


@dataclass(frozen=True)
class Site:
    """What account email templates call `current_site`."""

    name: str
    domain: str
    url: str


def site() -> Site:
    return Site(name="paperhub", domain=urlsplit(settings.SITE_URL).netloc, url=settings.SITE_URL.rstrip("/"))


def user_display(user) -> str:
    """How banners and emails name a reader: by the email they signed up with, never an invented username."""
    return user.email or "you"


def on_site_url(value, request_host: str | None):
    """`value` moved onto SITE_URL if it is an absolute URL on the request's host; anything else unchanged."""
    if not isinstance(value, str) or request_host is None or not value.startswith(("http://", "https://")):
        return value
    parts = urlsplit(value)
    if parts.netloc != request_host:
        return value
    path = parts.path + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")
    return settings.SITE_URL.rstrip("/") + path


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request) -> str:
        # The same client address as every other limit (TRUSTED_PROXY_COUNT).
        return client_ip(request)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        host = self.request.get_host() if self.request is not None else None
        context = {key: on_site_url(value, host) for key, value in context.items()}
        context["current_site"] = site()
        super().send_mail(template_prefix, email, context)

    def format_email_subject(self, subject: str) -> str:
        return f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}"
