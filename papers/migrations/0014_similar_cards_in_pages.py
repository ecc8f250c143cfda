"""Each stored page holds its similar papers' ids and first cards (papers/paper_pages.py `Copied`), and
one index holds what a page reads of them (paper_card_state_idx): a cold paper page reads none of
their rows. Pages rendered before hold no copy until the next render pass (`copy_similar`), and are
shown right meanwhile."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("papers", "0013_chart_redraw_schedule"),
    ]

    operations = [
        migrations.AddField(
            model_name="paperpage",
            name="similar_version",
            field=models.PositiveIntegerField(
                blank=True,
                null=True,
                help_text="The text model whose neighbours `similar` lists (another: read the vectors').",
            ),
        ),
        migrations.AddField(
            model_name="paperpage",
            name="similar",
            field=models.JSONField(
                blank=True, default=list, help_text="The paper's stored neighbours' ids, copied in."
            ),
        ),
        migrations.AddField(
            model_name="paperpage",
            name="similar_stamps",
            field=models.JSONField(
                blank=True, default=list, help_text="Each copied card's paper `updated_at` (None: not copied)."
            ),
        ),
        migrations.AddField(
            model_name="paperpage",
            name="similar_cards",
            field=models.TextField(
                blank=True, help_text="The first neighbours' cards, as `similar_stamps` lists them."
            ),
        ),
        migrations.AddIndex(
            model_name="paper",
            index=models.Index(fields=["id", "status", "upvote_count", "updated_at"], name="paper_card_state_idx"),
        ),
    ]
