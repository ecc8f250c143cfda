from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = "Subscriptions"

    def ready(self):
        from papers.attention import register_attention

        from .attention import failed_digests

        register_attention("failed-digests", failed_digests)
