"""Trigger journeys: the graph, entering contacts, and running them."""
