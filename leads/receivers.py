"""leads listens to nothing yet: it sends domain signals (leads/signals.py) to other apps."""
