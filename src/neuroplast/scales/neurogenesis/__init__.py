"""Dentate-gyrus neurogenesis and hippocampal volume (weeks to years)."""

from .dentate import Neurogenesis

__all__ = ["Neurogenesis"]
