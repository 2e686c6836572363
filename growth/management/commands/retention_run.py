from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from growth.retention import BATCH_SIZE, TIME_BUDGET_SECONDS, retention_counts, retention_run


class Command(BaseCommand):
    help = (
        "Delete processed raw inbound deliveries and events past their retention "
        "(RETENTION_INBOUND_DAYS, RETENTION_EVENTS_DAYS), in batches; --dry-run only counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument(
            "--time-budget",
            type=float,
            default=TIME_BUDGET_SECONDS,
            help="seconds after which the run stops between batches (default %(default)s)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1 or options["time_budget"] < 0:
            raise CommandError("--batch-size must be at least 1 and --time-budget not negative.")
        if options["dry_run"]:
            report = retention_counts()
        else:
            report = retention_run(
                batch_size=options["batch_size"], time_budget=options["time_budget"]
            )
        for kind in ("inbound", "events"):
            cutoff = report.cutoffs[kind]
            kept = "kept for ever" if cutoff is None else f"older than {cutoff:%Y-%m-%d %H:%M} UTC"
            verb = "would delete" if report.dry_run else "deleted"
            label = "processed inbound deliveries" if kind == "inbound" else "events"
            self.stdout.write(f"{label} ({kept}): {verb} {getattr(report, kind)}")
        if not report.dry_run:
            self.stdout.write(f"{report.batches} batches")
            if not report.finished:
                self.stdout.write("Time budget reached: run again to continue.")
