"""Writes of automations (services for deliveries; journeys and templates to follow)."""
