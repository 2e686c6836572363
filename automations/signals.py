"""Domain signals of automations. Other parts (journeys, analytics) connect receivers in
their AppConfig.ready(); like leads/signals.py they are sent on commit, with ids only."""

from django.dispatch import Signal

# survey_id: int, contact_id: int, score: int, answer_id: int — a contact answered a survey
# or changed the score of an earlier answer (a repeated identical answer sends nothing).
survey_answered = Signal()
# contact_id: int, channel: str ("email"/"sms"), inbound_id: int — the contact wrote back
# (an SMS that is no keyword; an e-mail reply): cadences end the enrollment on it.
reply_received = Signal()
# contact_id: int, channel: str, reason: str ("hard_bounce"/"complaint") — the address was
# suppressed after a send to this contact.
contact_unreachable = Signal()
