"""A profile's life: submitting it, the one path /scale, /sweep and /recommend share (``submit``);
its job, built from the record for submitting and recovery alike (``jobs``); the record and its
atomic transitions (``store``), with what every transition writes beside it (``transitions``);
cancelling (``cancel``); and the reaper that re-queues the jobs of dead workers (``recovery``).
"""
