"""Automations: journeys, message templates, channels and delivery."""
