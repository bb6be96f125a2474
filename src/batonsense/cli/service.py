"""`batonsense serve` and `batonsense demo`: the trackside service, live or on virtual sensors."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from batonsense.errors import InputError
from batonsense.service.config import PracticeConfig, ServerSettings, read_config

#: the demo's sensors and athletes: shipped in the package (config/demo.toml links to it),
#: so `batonsense demo` works from any directory and from a non-editable install
DEMO_CONFIG = Path(__file__).resolve().parents[1] / "service" / "demo.toml"


def _options(f):  # type: ignore[no-untyped-def]
    f = click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path),
                     help="SQLite file (default: batonsense.db in the user's data directory; "
                     "env BATONSENSE_DB).")(f)  # fmt: skip
    f = click.option("--port", type=click.IntRange(0, 65535),
                     help="Port (default 8000; env BATONSENSE_PORT).")(f)  # fmt: skip
    f = click.option("--host", help="Address to listen on (default 127.0.0.1: this computer "
                     "only; anything else needs the token for changes).")(f)  # fmt: skip
    f = click.option("--session", "session_name", help="Name of the session started now.")(f)
    return f


def _settings(host: str | None, port: int | None, db: Path | None) -> ServerSettings:
    given = {k: v for k, v in (("host", host), ("port", port), ("db", db)) if v is not None}
    return ServerSettings(**given)


def _load(path: Path) -> PracticeConfig:
    try:
        return read_config(path)
    except InputError as e:
        click.echo(f"batonsense: {e}", err=True)
        sys.exit(2)


def _run(config: PracticeConfig, settings: ServerSettings, *, demo: bool, seed: int,
         session_name: str | None) -> None:  # fmt: skip
    from batonsense.service.server import ListenError, serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("bumble", "bleak", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # the *emulated* controller of the virtual radio warns of packets for links the
    # shutdown already closed ("!!! no connection for handle"): noise, not a fault
    logging.getLogger("bumble.controller").setLevel(logging.ERROR)
    try:
        serve(settings, config, demo=demo, seed=seed, session_name=session_name,
              announce=lambda m: click.echo(m, err=True))  # fmt: skip
    except KeyboardInterrupt:  # Ctrl-C: uvicorn shut down cleanly, then re-raised it
        click.echo(f"batonsense: stopped; everything recorded is in {settings.db}", err=True)
        sys.exit(130)
    except ListenError as e:  # e.g. the port is taken: nothing was started
        click.echo(f"batonsense: {e}", err=True)
        sys.exit(2)


@click.command()
@click.option("--config", "config_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Practice config: the sensors (with BLE address or name), athletes.")  # fmt: skip
@_options
def serve(config_path: Path, host: str | None, port: int | None, db: Path | None,
          session_name: str | None) -> None:  # fmt: skip
    """Connect the configured sensors, detect exchanges live, serve the API and the page."""
    _run(_load(config_path), _settings(host, port, db), demo=False, seed=0,
         session_name=session_name)  # fmt: skip


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Sensors for the virtual drill (default: the packaged demo config, as config/demo.toml).",
)
@click.option("--seed", default=1, show_default=True, type=int, help="The drills' randomness.")
@_options
def demo(config_path: Path | None, seed: int, host: str | None, port: int | None,
         db: Path | None, session_name: str | None) -> None:  # fmt: skip
    """The whole service on virtual sensors that run drills on their own (no hardware)."""
    _run(_load(config_path or DEMO_CONFIG), _settings(host, port, db), demo=True, seed=seed,
         session_name=session_name)  # fmt: skip
