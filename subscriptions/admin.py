from django.contrib import admin, messages
from django.utils import timezone

from .delivery import send_test_digest
from .models import (
    Digest,
    DigestItem,
    DigestSettings,
    DiscussionFollow,
    DiscussionNotice,
    DiscussionNoticeItem,
    SavedSearch,
    TagFollow,
)


@admin.register(TagFollow)
class TagFollowAdmin(admin.ModelAdmin):
    list_display = ["user", "tag", "created_at"]
    list_select_related = ["user", "tag"]
    list_filter = ["tag"]
    search_fields = ["user__email", "tag__name", "tag__slug"]
    raw_id_fields = ["user"]
    autocomplete_fields = ["tag"]


@admin.register(SavedSearch)
class SavedSearchAdmin(admin.ModelAdmin):
    list_display = ["user", "query", "tag", "name", "created_at"]
    list_select_related = ["user", "tag"]
    search_fields = ["user__email", "query", "name"]
    raw_id_fields = ["user"]
    autocomplete_fields = ["tag"]
    readonly_fields = ["query_key"]


@admin.register(DigestSettings)
class DigestSettingsAdmin(admin.ModelAdmin):
    list_display = ["user", "frequency", "delivery_hour", "timezone", "papers_per_tag", "personalization"]
    list_select_related = ["user"]
    list_filter = ["frequency"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]
    actions = ["send_me_a_test_digest"]

    @admin.action(description="Send me a test digest (the selected readers' next digests, to my address)")
    def send_me_a_test_digest(self, request, queryset):
        now = timezone.now()
        for settings_row in queryset.select_related("user"):
            count = send_test_digest(reader=settings_row.user, to_email=request.user.email, now=now)
            if count:
                self.message_user(request, f"Sent {settings_row.user.email}'s next digest ({count} papers) to you.")
            else:
                self.message_user(
                    request, f"{settings_row.user.email} has nothing new: no digest would be sent.", messages.WARNING
                )


class DigestItemInline(admin.TabularInline):
    model = DigestItem
    extra = 0
    can_delete = False
    fields = ["rank", "paper", "tag", "reason", "other_tags"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    list_display = ["user", "period_key", "kind", "status", "created_at", "sent_at", "attempts", "subject"]
    list_select_related = ["user"]
    list_filter = ["status", "kind", "created_at", "sent_at"]
    search_fields = ["user__email", "message_id", "period_key"]
    date_hierarchy = "created_at"
    inlines = [DigestItemInline]
    readonly_fields = [f.name for f in Digest._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DiscussionFollow)
class DiscussionFollowAdmin(admin.ModelAdmin):
    list_display = ["user", "paper", "created_at"]
    list_select_related = ["user", "paper"]
    search_fields = ["user__email", "paper__title"]
    raw_id_fields = ["user", "paper"]


class DiscussionNoticeItemInline(admin.TabularInline):
    model = DiscussionNoticeItem
    extra = 0
    can_delete = False
    fields = ["comment"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DiscussionNotice)
class DiscussionNoticeAdmin(admin.ModelAdmin):
    """The discussion emails, a read-only log like Digests (subscriptions/discussions.py)."""

    list_display = ["user", "day_key", "status", "created_at", "sent_at", "attempts", "subject"]
    list_select_related = ["user"]
    list_filter = ["status", "created_at", "sent_at"]
    search_fields = ["user__email", "message_id", "day_key"]
    date_hierarchy = "created_at"
    inlines = [DiscussionNoticeItemInline]
    readonly_fields = [f.name for f in DiscussionNotice._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
