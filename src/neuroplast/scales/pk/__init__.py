"""Pharmacokinetics: linear compartment models (closed form where linear)."""

from .compartments import KetaminePK, MidazolamPK, closed_form_linear

__all__ = ["KetaminePK", "MidazolamPK", "closed_form_linear"]
