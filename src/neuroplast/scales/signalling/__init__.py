"""Signalling: glutamate surge, BDNF, mTORC1 (hours); slow trophic signalling and fitness (weeks)."""

from .cascade import Cascade
from .trophic import Trophic

__all__ = ["Cascade", "Trophic"]
