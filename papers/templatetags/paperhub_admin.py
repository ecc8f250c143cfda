"""Template tags of the catalogue admin."""

from django import template
from django.utils import timezone

from ..admin_charts import admin_charts

register = template.Library()


@register.inclusion_tag("admin/papers/charts.html")
def paperhub_admin_charts():
    """The last 30 days as SVG bar charts (papers imported, upvotes, digests)."""
    return {"charts": admin_charts(now=timezone.now())}
