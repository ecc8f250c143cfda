from django.contrib import admin

from .models import Digest, DigestItem, DigestSettings, TagFollow


@admin.register(TagFollow)
class TagFollowAdmin(admin.ModelAdmin):
    list_display = ["user", "tag", "created_at"]
    list_select_related = ["user", "tag"]
    list_filter = ["tag"]
    search_fields = ["user__email", "tag__name"]
    raw_id_fields = ["user"]
    autocomplete_fields = ["tag"]


@admin.register(DigestSettings)
class DigestSettingsAdmin(admin.ModelAdmin):
    list_display = ["user", "frequency", "delivery_hour", "timezone", "papers_per_tag"]
    list_select_related = ["user"]
    list_filter = ["frequency"]
    search_fields = ["user__email"]
    raw_id_fields = ["user"]


class DigestItemInline(admin.TabularInline):
    model = DigestItem
    extra = 0
    can_delete = False
    readonly_fields = ["rank", "paper", "tag", "reason", "other_tags"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    list_display = ["user", "period_key", "status", "created_at", "sent_at", "attempts"]
    list_select_related = ["user"]
    list_filter = ["status", "created_at"]
    search_fields = ["user__email", "message_id"]
    date_hierarchy = "created_at"
    inlines = [DigestItemInline]
    readonly_fields = [f.name for f in Digest._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
