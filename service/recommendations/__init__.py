"""Recommendations from real measurements (POST /recommend): who runs a search and what is kept
(``runs``), the search itself, decided on stable measurements only (``search``), and the stored
state with its lease and cancellation (``state``).
"""
