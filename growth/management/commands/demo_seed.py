from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm

from growth import demo


class Command(BaseCommand):
    help = "Load the demo shop (idempotent) with a progress bar, then print the demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        steps = demo.steps()
        with tqdm(total=sum(s.total for s in steps), desc="Demo shop", unit="item") as bar:
            for step in steps:
                bar.set_postfix_str(step.name)
                step.run(bar.update)
        self.stdout.write(self.style.SUCCESS("Demo data is ready."))
        for role, username, password in demo.logins():
            self.stdout.write(f"  {role:<14} {username:<14} {password}")
