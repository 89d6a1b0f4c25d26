"""Entry point of the ``iotsec`` command.

Sub-command groups load lazily (``GROUPS`` maps a name to ``module:attribute``), so that
``iotsec cose verify`` does not pay for importing the HTTP stack.

Exit codes: 0 success/valid; 1 the input is invalid or refused (any :class:`IotSecError`, reason on
stderr); 2 usage errors and unreadable files; 70 an internal error (a bug: set ``IOTSEC_DEBUG=1``
for the traceback).
"""

from __future__ import annotations

import importlib
import json
import os
from typing import Any

import click

from iotsec import __version__
from iotsec.errors import IotSecError

# name -> "module:attribute" of a click.Group. Add one line per part.
GROUPS: dict[str, str] = {
    "cose": "iotsec.cli.cose:group",
    "ca": "iotsec.cli.ca:group",
    "est": "iotsec.cli.est:group",
    "mud": "iotsec.cli.mud:group",
    "eat": "iotsec.cli.eat:group",
    "ear": "iotsec.cli.ear:group",
    "corim": "iotsec.cli.corim:group",
    "verifier": "iotsec.cli.verifier:group",
    "suit": "iotsec.cli.suit:group",
    "db": "iotsec.cli.db:group",
    "demo": "iotsec.cli.demo:demo",
}

EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70


def emit_error(err: IotSecError, *, as_json: bool = False) -> None:
    """Print an error on stderr the way every command does."""
    if as_json:
        click.echo(json.dumps(err.as_dict()), err=True)
    else:
        click.echo(f"error: {err} [{err.reason}]", err=True)


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *GROUPS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in GROUPS:
            module_name, attr = GROUPS[cmd_name].split(":")
            cmd = getattr(importlib.import_module(module_name), attr)
            assert isinstance(cmd, click.Command)
            return cmd
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IotSecError as err:
            emit_error(err, as_json=bool(ctx.obj and ctx.obj.get("json")))
            ctx.exit(EXIT_INVALID)
        except OSError as err:
            # files a user named that cannot be read or written: a usage problem, not a bug
            where = f": {err.filename}" if err.filename else ""
            click.echo(f"error: {err.strerror or err}{where}", err=True)
            ctx.exit(EXIT_USAGE)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as err:  # last line of defence against tracebacks
            if os.environ.get("IOTSEC_DEBUG"):
                raise
            click.echo(
                f"internal error: {type(err).__name__}: {err} (set IOTSEC_DEBUG=1 for a traceback)",
                err=True,
            )
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="iotsec")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON output where offered.")
@click.pass_context
def cli(ctx: click.Context, as_json: bool) -> None:
    """iotsec: IETF security technologies for IoT devices (COSE, SUIT, RATS/EAT, EST, MUD)."""
    ctx.ensure_object(dict)
    ctx.obj["json"] = as_json


def main() -> None:
    cli(prog_name="iotsec")


if __name__ == "__main__":  # pragma: no cover
    main()
