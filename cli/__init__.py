"""The ``fastscale`` command line (typer): the top floor, above the core, the service layer, the
API and the workers. ``fastscale = cli.main:main``; ``python -m cli`` runs the same."""
