"""Tables of cadences: sales cadences, enrollments, the rep queue and the SLA (added by the issue that builds them)."""
