import base64
import json
import random
import time
import urllib.error
import urllib.request
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from leads.demo.generator import ShopGenerator
from leads.demo.sources import SHOPIFY_SLUG, demo_shopify_secret, demo_sources, demo_write_key
from leads.ingest.http import hmac_base64


class Command(BaseCommand):
    help = "Post live demo shop traffic to a running Growth over HTTP, as a storefront would."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000")
        parser.add_argument("--every", type=float, default=3.0, help="seconds between visitors")
        parser.add_argument(
            "--visitors", type=int, default=0, help="stop after this many (0: run until stopped)"
        )

    def handle(self, *args: Any, url: str, every: float, visitors: int, **options: Any) -> None:
        demo_sources()
        base = url.rstrip("/")
        auth = "Basic " + base64.b64encode(f"{demo_write_key()}:".encode()).decode()
        seed = int(time.time()) % 100_000 + 100
        generator = ShopGenerator(seed=seed, days=1, now=timezone.now())
        rng = random.Random(seed)  # noqa: S311 (pacing only)
        for sent, items in enumerate(generator.live_visitors(), start=1):
            if visitors and sent > visitors:
                break
            # Live traffic happens now: Growth stamps it on arrival.
            batch = [
                {k: v for k, v in i.body.items() if k != "timestamp"}
                for i in items
                if i.kind == "tracking"
            ]
            if batch:
                self._post(
                    f"{base}/ingest/v1/batch",
                    json.dumps({"batch": batch}).encode(),
                    {"Authorization": auth},
                )
            for item in (i for i in items if i.kind == "shopify"):
                now = timezone.now().isoformat()
                body = json.dumps({**item.body, "created_at": now, "updated_at": now}).encode()
                self._post(
                    f"{base}/webhooks/shopify/{SHOPIFY_SLUG}/",
                    body,
                    {
                        "X-Shopify-Hmac-Sha256": hmac_base64(demo_shopify_secret(), body),
                        "X-Shopify-Topic": item.topic,
                        "X-Shopify-Webhook-Id": item.delivery_id,
                    },
                )
            self.stdout.write(f"visitor {sent}: {len(items)} messages")
            time.sleep(every * rng.uniform(0.5, 1.5))

    def _post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        request = urllib.request.Request(  # noqa: S310 (our own http URL)
            url, data=body, headers={"Content-Type": "application/json", **headers}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our own http URL)
                response.read()
        except (urllib.error.URLError, TimeoutError) as error:
            self.stderr.write(f"post failed, going on: {error}")
