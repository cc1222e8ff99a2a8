"""Signalling: glutamate surge, BDNF, mTORC1 (hours)."""

from .cascade import Cascade

__all__ = ["Cascade"]
