"""Personal API tokens: shown once when created, stored as a SHA-256 digest, revoked by deleting the row.

A token is 32 random bytes (urlsafe base64) behind the `ph_` prefix, so a
plain hash is enough (nothing to brute-force, unlike a password) and lets
each request find its token with one indexed lookup.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from ..models import ApiToken

PREFIX = "ph_"
SHOWN_PREFIX_CHARS = 10
# Writing last_used_at at most this often keeps a busy script from writing on every request.
LAST_USED_RESOLUTION = timedelta(minutes=5)


class TokenLimitReached(ValueError):
    """The reader already has API_TOKENS_PER_READER tokens."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown to the reader once, never stored


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_token(*, user: AbstractBaseUser, name: str, now: datetime) -> NewToken:
    """A new token for `user`; the secret is in the result and nowhere else."""
    # Lock the reader's row so two concurrent requests cannot both pass the limit.
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if ApiToken.objects.filter(user=user).count() >= settings.API_TOKENS_PER_READER:
        raise TokenLimitReached(f"at most {settings.API_TOKENS_PER_READER} tokens per reader")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:100] or "API token",
        prefix=secret[:SHOWN_PREFIX_CHARS],
        key_hash=digest(secret),
        created_at=now,
    )
    return NewToken(token=token, secret=secret)


def revoke_token(*, user: AbstractBaseUser, token_id: int) -> bool:
    """Delete one of `user`'s tokens. True if it existed (someone else's token is never touched)."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return bool(deleted)


def authenticate(secret: str, *, now: datetime) -> AbstractBaseUser | None:
    """The active reader a token belongs to, or None."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=digest(secret)).first()
    if token is None or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
