"""Receptors: NMDA block by the ketamine family, SERT occupancy by SSRIs, HNK's AMPA action."""

from .nmda import NMDABlock
from .sert import HNKAction, SERTOccupancy

__all__ = ["HNKAction", "NMDABlock", "SERTOccupancy"]
