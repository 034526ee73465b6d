"""Where a plan is computed for the service: memoised by the canonical request (``cache``), at once
in the API process when it is ordinary (``inline``), else in a bounded pool of planning processes,
never on the event loop (``executor``).
"""
