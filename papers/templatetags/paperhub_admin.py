"""Template tags of the catalogue admin."""

from django import template
from django.utils import timezone

from ..admin_charts import admin_charts
from ..attention import attention_items

register = template.Library()


@register.inclusion_tag("admin/papers/charts.html")
def paperhub_admin_charts():
    """The last 30 days as SVG bar charts (papers imported, upvotes, digests)."""
    return {"charts": admin_charts(now=timezone.now())}


@register.inclusion_tag("admin/papers/attention_summary.html", takes_context=True)
def paperhub_attention(context):
    """The counts of the "Needs attention" page, each a link to its list (curators only)."""
    user = context["request"].user
    if not user.has_perm("papers.view_paper"):
        return {"items": []}
    return {"items": attention_items(now=timezone.now())}
