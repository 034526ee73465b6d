"""Chaos bench (issue 22): the faults an operator meets, on loopback, against the real service.

``python -m bench.chaos`` runs each scenario (workers SIGKILLed mid-job or between taking a job and
starting it, paused and resumed; the API SIGKILLed; redis-server SIGKILLed, separate or embedded
in `fastscale serve`; Redis at maxmemory) under a steady trickle of distinct /scale jobs, and prints
per scenario what was accepted, finished, failed, lost (accepted but not final by the deadline, or
gone) and duplicated (measured more than once), and how long the service took to recover.
``harness`` starts and stops the service's processes, ``load`` posts and audits, ``scenarios`` holds
the faults, ``__main__`` the table.
"""
