"""A reader's digest settings before they saved any: the browser's timezone, remembered at the first chance."""

import zoneinfo

from django.contrib.auth.models import AbstractBaseUser

from .models import DigestSettings


def remember_browser_timezone(*, user: AbstractBaseUser, timezone_name: str) -> DigestSettings:
    """The reader's settings; created with the browser's timezone (if it is a real one) when they have none.

    Called at sign-up and at the first follow, so nobody is scheduled in UTC by accident.
    Settings the reader already has are never changed.
    """
    name = (timezone_name or "").strip()
    if name not in zoneinfo.available_timezones():
        name = DigestSettings._meta.get_field("timezone").default
    settings_row, _ = DigestSettings.objects.get_or_create(user=user, defaults={"timezone": name})
    return settings_row
