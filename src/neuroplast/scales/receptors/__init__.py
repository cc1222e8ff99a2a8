"""Receptors: NMDA block by ketamine enantiomers and norketamine."""

from .nmda import NMDABlock

__all__ = ["NMDABlock"]
