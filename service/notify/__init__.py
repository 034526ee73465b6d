"""Telling the platform: the durable outbox of final-state events and callback deliveries
(``outbox``), signed completion callbacks (``callbacks``), which URLs they may go to and in which
spelling (``urls``: the SSRF guard, sendable URLs only), the concurrent, bounded delivery attempts
(``delivery``), the background work every API process runs for them (``completion``), and live
progress as Server-Sent Events (``events``) within per-client and total caps (``streams``).
"""
