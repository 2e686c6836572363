"""Tables of leads: the contact record and everything that gets in."""

from leads.models.contacts import Consent, Contact, ContactMerge, Identity, Note
from leads.models.events import Event, Session
from leads.models.imports import ContactImport, ImportRowError
from leads.models.inbound import InboundDelivery, Source
from leads.models.lifecycle import (
    LifecycleSettings,
    LifecycleStage,
    QualificationDefinition,
    StageChange,
)
from leads.models.orders import Order, OrderLine, Product, Refund
from leads.models.privacy import PrivacyRequest
from leads.models.quality import LeadRating
from leads.models.scoring import (
    ContactScore,
    ScoreEntry,
    ScoreModel,
    ScoreRecompute,
    ScoringRule,
)
from leads.models.segments import RfmCutoffs, Segment, SegmentMembership

__all__ = [
    "Consent",
    "Contact",
    "ContactImport",
    "ContactMerge",
    "ContactScore",
    "Event",
    "Identity",
    "ImportRowError",
    "InboundDelivery",
    "LeadRating",
    "LifecycleSettings",
    "LifecycleStage",
    "Note",
    "Order",
    "OrderLine",
    "PrivacyRequest",
    "Product",
    "QualificationDefinition",
    "Refund",
    "RfmCutoffs",
    "ScoreEntry",
    "ScoreModel",
    "ScoreRecompute",
    "ScoringRule",
    "Segment",
    "SegmentMembership",
    "Session",
    "Source",
    "StageChange",
]
