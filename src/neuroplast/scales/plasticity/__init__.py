"""Synaptic and structural plasticity: prefrontal spine density and fast potentiation."""

from .spines import Spines

__all__ = ["Spines"]
