"""Runtime predictions before anything runs: every stable measurement stored as a runtime point
with its network's terms (``points``), and the predictor fitted on them, with an honest error bar
(``predictor``).
"""
