"""Tables of automations: journeys, message templates, channels and delivery (added by the issue that builds them)."""
