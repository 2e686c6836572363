"""Tables of leads: the contact record and everything that gets in."""

from leads.models.contacts import Consent, Contact, ContactMerge, Identity, Note
from leads.models.events import Event, Session
from leads.models.imports import ContactImport, ImportRowError
from leads.models.inbound import InboundDelivery, Source
from leads.models.orders import Order, OrderLine, Product, Refund
from leads.models.privacy import PrivacyRequest

__all__ = [
    "Consent",
    "Contact",
    "ContactImport",
    "ContactMerge",
    "Event",
    "Identity",
    "ImportRowError",
    "InboundDelivery",
    "Note",
    "Order",
    "OrderLine",
    "PrivacyRequest",
    "Product",
    "Refund",
    "Session",
    "Source",
]
