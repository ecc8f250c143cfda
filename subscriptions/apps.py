from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"

    def ready(self):
        # subscriptions builds on papers: it fills the slots papers offers (papers/slots.py), never the reverse.
        from django.db.models.signals import post_delete, post_save

        from papers.admin_charts import register_chart
        from papers.attention import register_attention
        from papers.comments import on_comment_posted
        from papers.readers import register_reader_data
        from papers.slots import register_slot, register_tag_count

        from . import discussions, slots
        from .attention import failed_digests
        from .models import DigestSettings, SavedSearch, TagFollow

        register_slot("tag_actions", slots.follow_button)
        register_slot("search_actions", slots.follow_search_button)
        register_slot("period_tabs", slots.for_you_tab)
        register_slot("list_actions", slots.subscribe_button)
        register_slot("reader_links", slots.reader_links)
        register_slot("discussion_actions", slots.follow_discussion_button)
        on_comment_posted(discussions.follow_on_comment)
        register_tag_count("follower_count", singular="follower", plural="followers", expression=slots.follower_count)
        register_chart("digests", slots.digest_chart)
        register_attention("failed-digests", failed_digests)
        # What the slots above show of a reader, cached per reader and forgotten when any of it changes
        # (from the site, the admin, an unsubscribe link or a cascade: every save and delete sends these).
        register_reader_data("follows", slots.reader_follows)
        for model in (TagFollow, SavedSearch, DigestSettings):
            post_save.connect(slots.forget_follows, sender=model, dispatch_uid=f"forget_follows_{model.__name__}")
            post_delete.connect(slots.forget_follows, sender=model, dispatch_uid=f"forget_follows_{model.__name__}_d")
