"""Acute safety read-outs during and after an infusion."""

from .acute import Safety

__all__ = ["Safety"]
