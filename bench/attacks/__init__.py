"""The attacks of issue 23, re-run against a real `uvicorn app.main:create_app` with an embedded
Redis, each printing the figure the issue reported: slow and hanging callback receivers (the delay
the other deliveries see), a 200 MB answer (the API's memory), poison URLs (422s, and the delay of a
healthy delivery behind 50 stored ones), 200 key guesses on /readyz and /ui (429s), and two keys
(what B can see and do to A). ``python -m bench.attacks`` runs them all and prints one table."""
