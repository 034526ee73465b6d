"""The ``fastscale`` command line: the top floor, which may use every layer below it.

Core commands (``plan``, ``models``, cli.core_commands; ``predictor-eval``, cli.eval_commands)
need only the scaling core. Service
commands (``serve``, ``worker``, ``hash-key``, cli.service_commands) and client commands
(``scale``, ``sweep``, ``recommend``, ``profiles``, ``cancel``, cli.client_commands, through the
public client fastscale_client) import what they need when run, so ``fastscale plan`` works
without FastAPI, Redis or RQ installed. Errors are one line on stderr and exit code 2.
"""

from __future__ import annotations

import typer

from cli import client_commands, core_commands, eval_commands, service_commands

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Scale CNNs the way 'Fast and Accurate Model Scaling' prescribes.")

app.command()(core_commands.plan)
app.command()(core_commands.models)
app.command("predictor-eval")(eval_commands.predictor_eval)
app.command()(service_commands.serve)
app.command()(service_commands.worker)
app.command()(client_commands.scale)
app.command()(client_commands.sweep)
app.command()(client_commands.recommend)
app.command()(client_commands.profiles)
app.command()(client_commands.cancel)
app.command("hash-key")(service_commands.hash_key_cmd)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
