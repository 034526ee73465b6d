"""GPU/CPU workers (torch and RQ): the RQ job entry (job), one worker process (run), the
supervisor that starts one per GPU (supervisor), device classes (device, host), and the profiler
(torch only). Workers use the core and the service layer, never the API (``app``)."""
