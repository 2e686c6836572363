from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from leads.demo.loader import demo_shop_load


class Command(BaseCommand):
    help = "Load a believable demo shop (visitors, funnel, orders, refunds) through the ingestion path."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--contacts", type=int, default=1000, help="visitors to simulate")
        parser.add_argument("--days", type=int, default=90, help="days of history")
        parser.add_argument("--seed", type=int, default=1, help="same seed, same shop")

    def handle(self, *args: Any, contacts: int, days: int, seed: int, **options: Any) -> None:
        with tqdm(total=contacts * 2, desc="Demo shop", unit="visitor") as bar:
            new = demo_shop_load(contacts=contacts, days=days, seed=seed, advance=bar.update)
        self.stdout.write(self.style.SUCCESS(f"{new} new messages loaded."))
