"""Telling the platform: the durable outbox of final-state events and callback deliveries
(``outbox``), signed completion callbacks and their SSRF guard (``callbacks``), the background
work every API process runs for them (``completion``), and live progress as Server-Sent Events
(``events``).
"""
