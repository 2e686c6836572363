"""Domain signals of automations. Other parts (journeys, analytics) connect receivers in
their AppConfig.ready(); like leads/signals.py they are sent on commit, with ids only."""

from django.dispatch import Signal

# survey_id: int, contact_id: int, score: int, answer_id: int — a contact answered a survey
# or changed the score of an earlier answer (a repeated identical answer sends nothing).
survey_answered = Signal()
