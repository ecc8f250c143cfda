"""`send_digests`: the scheduled digest path, in the foreground (operators, the demo)."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from subscriptions.delivery import deliver_digests
from subscriptions.digests import choose_items, pool_for_digests
from subscriptions.models import DigestSettings
from subscriptions.scheduling import CHUNK_SIZE, dispatch_due_digests, due_readers, eligible_readers, extra_digest


class Command(BaseCommand):
    help = "Create and send the digests that are due now (or at --now), in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("--now", help="Pretend it is this ISO-8601 time (e.g. 2026-11-30T08:15:00+01:00).")
        parser.add_argument("--user", help="Only this reader (email address).")
        parser.add_argument("--dry-run", action="store_true", help="Print who would get what; change nothing.")
        parser.add_argument(
            "--force", action="store_true", help="Send an extra digest even if not due (outside the schedule)."
        )

    def handle(self, *args, now=None, user=None, dry_run=False, force=False, **options):
        when = self._parse_now(now)
        user_ids = None
        if user:
            reader = get_user_model().objects.filter(email__iexact=user).first()
            if reader is None:
                raise CommandError(f"No reader with the email address {user!r}.")
            user_ids = [reader.pk]
        if force:
            readers = eligible_readers(user_ids)
            if user_ids is None:  # everyone: still respect readers who turned the digest off
                readers = readers.exclude(digest_settings__frequency=DigestSettings.Frequency.OFF)
            readers = list(readers)
            targets = [(reader.pk, "on request") for reader in readers]
        else:
            targets = [(user_id, period.key) for user_id, period in due_readers(now=when, user_ids=user_ids)]
        if dry_run:
            self._print_plan(targets, now=when)
            return
        if force:
            digest_ids = [extra_digest(user=reader, now=when, enqueue_task=False).pk for reader in readers]
        else:
            digest_ids = dispatch_due_digests(now=when, user_ids=user_ids, enqueue_tasks=False).digest_ids
        totals = {"sent": 0, "skipped": 0, "failed": 0, "retry": 0}
        # The candidates of every chunk, loaded once (as the dispatch task shares them with its chunks).
        pool = pool_for_digests(digest_ids, now=when) if len(digest_ids) > CHUNK_SIZE else None
        for start in range(0, len(digest_ids), CHUNK_SIZE):
            report = deliver_digests(digest_ids[start : start + CHUNK_SIZE], now=when, pool=pool)
            for key in totals:
                totals[key] += len(getattr(report, key))
            if report.error:
                self.stderr.write(f"SMTP error, {len(report.retry)} digests left queued: {report.error}")
        self.stdout.write(
            f"{len(digest_ids)} digests: {totals['sent']} sent, {totals['skipped']} skipped (nothing new), "
            f"{totals['failed']} failed, {totals['retry']} left queued."
        )

    def _parse_now(self, value: str | None) -> datetime:
        if not value:
            return timezone.now()
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise CommandError(f"--now {value!r} is not an ISO-8601 date and time, e.g. 2026-11-30T08:15:00Z.") from exc
        if timezone.is_naive(parsed):
            raise CommandError(f"--now {value!r} has no UTC offset: add Z or +01:00.")
        return parsed

    def _print_plan(self, targets: list[tuple[int, str]], *, now: datetime) -> None:
        emails = dict(get_user_model().objects.filter(pk__in=[pk for pk, _ in targets]).values_list("pk", "email"))
        chosen = choose_items([pk for pk, _ in targets], now=now)
        for user_id, period in targets:
            items = chosen.get(user_id, [])
            self.stdout.write(f"{emails[user_id]} ({period}): {len(items) or 'nothing new, would skip'}")
            for item in items:
                section = f"#{item.tag.slug}" if item.tag else item.search.label
                self.stdout.write(f"  {section}  {item.paper.title[:80]}  — {item.reason}")
        self.stdout.write(f"{len(targets)} readers due (dry run: nothing was created or sent).")
