"""Interop figures: how much of the scaling grid each export format expresses, and why not the rest."""
