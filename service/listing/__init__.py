"""Listing and search (GET /profiles, /sweeps, /recommendations and the /ui tables): the indexes
every transition writes (``indexes``), the one-line summaries a listing shows (``summaries``), the
search as one Lua script on the Redis server (``search``) and the pages with their cursors
(``pages``).
"""
