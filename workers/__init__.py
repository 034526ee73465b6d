"""GPU/CPU workers: the profiler (torch only), the RQ job entry, and worker process management."""
