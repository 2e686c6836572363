"""Domain signals of leads. Other apps connect receivers in their AppConfig.ready().

Sent on commit, with ids only, so receivers can enqueue work safely.
"""

from django.dispatch import Signal

# contact_ids: list[int], event_ids: list[int]
events_recorded = Signal()
# survivor_id: int, merged_id: int — move your rows that point at merged_id
contacts_merged = Signal()
# contact_id: int, channel: str, status: str
consent_changed = Signal()
# contact_id: int, from_stage: str, to_stage: str, cause: str (StageChange.Cause), change_id: int
stage_changed = Signal()
# segment_id: int, contact_ids: list[int] — contacts that entered / left a segment (any kind)
segment_entered = Signal()
segment_exited = Signal()
# contact_id: int, rating_id: int, verdict: str ("good"/"bad"), reason: str
lead_rated = Signal()
# order_ids: list[int] — orders new to Growth (not updates of known ones): one signal per
# transaction, whatever the number of orders it wrote (an import chunk, a shop batch).
orders_created = Signal()
