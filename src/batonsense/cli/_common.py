"""What every command shares: exit codes, the error line, the stdout console, simulations."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console

import batonsense.sim as sim_pkg

EXIT_INPUT = 2
_FilePath = click.Path(exists=True, dir_okay=False, path_type=Path)


def _fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    """Print `batonsense: message` on stderr and exit with `code`."""
    click.echo(f"batonsense: {message}", err=True)
    sys.exit(code)


def _stdout_console() -> Console:
    """Console on the current stdout; wide when not a terminal so tables don't wrap."""
    out = sys.stdout
    return Console(file=out, width=None if out.isatty() else 160)


def _scenario_names() -> list[str]:
    return sorted(getattr(sim_pkg, "SCENARIOS", {}) or {})


def _run_simulation(scenario: str, seed: int, overrides: dict[str, Any]) -> Any:
    """batonsense.sim.simulate(...) with clear errors for unknown scenarios or no simulator."""
    simulate = getattr(sim_pkg, "simulate", None)
    if simulate is None:
        _fail("the simulator is not available in this build yet", code=1)
    names = _scenario_names()
    if names and scenario not in names:
        _fail(f"unknown scenario '{scenario}' (one of: {', '.join(names)})")
    try:
        return simulate(scenario, seed, **overrides)
    except NotImplementedError:
        _fail("the simulator is not available in this build yet", code=1)
    except TypeError as e:  # an override this scenario does not take
        _fail(f"scenario '{scenario}': {e}")
    except (ValueError, KeyError) as e:
        _fail(f"cannot simulate scenario '{scenario}': {e}")
