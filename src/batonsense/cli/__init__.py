"""Command line: `batonsense analyze | simulate | offline-demo` (here), `scan | record | replay |
export` (`cli.sensors`) and the trackside service `serve | demo` (`cli.service`).

Exit status: 0 ok, 2 bad input or usage (message on stderr), 1 anything else.
With `analyze --json` / `replay --json` stdout carries exactly one JSON object
and nothing else.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from batonsense import __version__
from batonsense.detect import detect_exchanges
from batonsense.errors import InputError
from batonsense.evaluate import match, score
from batonsense.io import (
    exchanges_document,
    read_recording_csv,
    read_sensors,
    write_recording_csv,
    write_sensors_toml,
)
from batonsense.io._atomic import atomic_write
from batonsense.model import Exchange, Recording
from batonsense.report import comparison_table, exchanges_table, summary_line

from ._common import EXIT_INPUT, _fail, _FilePath, _run_simulation, _stdout_console

__all__ = ["EXIT_INPUT", "main"]

#: Show progress by default only for recordings bigger or longer than these.
LONG_FILE_BYTES = 50_000_000
LONG_RECORDING_S = 60.0


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="batonsense")
def main() -> None:
    """Time relay baton exchanges from IMUs on the baton and the runners' wrists."""


# ---------------------------------------------------------------- analyze


@main.command()
@click.argument("recording", type=_FilePath)
@click.option(
    "--sensors",
    "sensors_path",
    required=True,
    type=_FilePath,
    help="Sensors file (TOML): baton and wrist sensors.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print one JSON object {"exchanges": [...]} on stdout instead of a table.',
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress bar on stderr (default: for long recordings on a terminal).",
)
def analyze(recording: Path, sensors_path: Path, as_json: bool, progress: bool | None) -> None:
    """Find and time the baton exchanges in RECORDING (CSV)."""
    try:
        sensors = read_sensors(sensors_path)
        big = recording.stat().st_size > LONG_FILE_BYTES
        with _progress_bar(_want_progress(progress, big)) as bar:
            rec = read_recording_csv(recording, sensors, progress=bar("reading"))
    except InputError as e:
        _fail(str(e))
    long = big or rec.end_s - rec.start_s > LONG_RECORDING_S
    with _progress_bar(_want_progress(progress, long)) as bar:
        exchanges = _detect(rec, bar("detecting"))
    if as_json:
        click.echo(json.dumps(exchanges_document(exchanges)))
        return
    console = _stdout_console()
    console.print(exchanges_table(exchanges, title=f"Exchanges in {recording.name}"))
    console.print(summary_line(exchanges, rec))


def _detect(rec: Recording, progress: Callable[[float], None] | None) -> list[Exchange]:
    """detect_exchanges, with a clear message while the detector is a stub."""
    try:
        return sorted(detect_exchanges(rec, progress=progress), key=lambda x: x.time_s)
    except NotImplementedError:
        _fail("exchange detection is not available in this build yet", code=1)
    except InputError as e:
        _fail(str(e))


def _want_progress(flag: bool | None, long: bool) -> bool:
    """--progress forces it, --no-progress forbids it, else long recordings on a terminal."""
    if flag is not None:
        return flag
    return long and sys.stderr.isatty()


@contextmanager
def _progress_bar(show: bool) -> Iterator[Callable[[str], Callable[[float], None] | None]]:
    """Yields task(name) → progress callback (fraction 0..1), or None when not shown."""
    if not show:
        yield lambda name: None
        return
    bar = Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=False,
    )

    def task(name: str) -> Callable[[float], None]:
        tid = bar.add_task(name, total=1.0)
        return lambda fraction: bar.update(tid, completed=min(max(fraction, 0.0), 1.0))

    with bar:
        yield task


# ---------------------------------------------------------------- simulate


def write_simulation(out: Path, result: Any) -> tuple[Path, Path, Path]:
    """DIR/recording.csv, DIR/sensors.toml, DIR/truth.json of a SimResult."""
    out.mkdir(parents=True, exist_ok=True)
    rec_path, sensors_path, truth_path = (
        out / "recording.csv",
        out / "sensors.toml",
        out / "truth.json",
    )
    write_sensors_toml(sensors_path, result.recording.sensors)
    write_recording_csv(rec_path, result.recording)
    doc = exchanges_document(result.truth)
    activities = _jsonable(getattr(result, "activities", None))
    if activities is not None:
        doc["activities"] = activities
    with atomic_write(truth_path) as f:
        f.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return rec_path, sensors_path, truth_path


def _jsonable(value: Any) -> Any:
    """Activities as JSON data if they can be (to_dict(), dataclass, plain data), else None."""
    import dataclasses

    if value is None:
        return None
    try:
        items = [
            v.to_dict()
            if hasattr(v, "to_dict")
            else dataclasses.asdict(v)
            if dataclasses.is_dataclass(v)
            else v
            for v in value
        ]
        json.dumps(items, default=str)
        return json.loads(json.dumps(items, default=str))
    except (TypeError, ValueError):
        return None


@main.command()
@click.option("--scenario", required=True, help="Scenario name (batonsense.sim.SCENARIOS).")
@click.option("--seed", required=True, type=int, help="Random seed (same seed, same files).")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory (created if missing).",
)
@click.option("--rate-hz", type=click.FloatRange(min=1.0), help="Sample rate override (Hz).")
@click.option("--reps", type=click.IntRange(min=1), help="Number of repetitions override.")
@click.option(
    "--duration-s",
    type=click.FloatRange(min=0.0, min_open=True),
    help="Recording duration override (s).",
)
def simulate(
    scenario: str,
    seed: int,
    out: Path,
    rate_hz: float | None,
    reps: int | None,
    duration_s: float | None,
) -> None:
    """Simulate a scenario: writes DIR/recording.csv, DIR/sensors.toml, DIR/truth.json."""
    overrides = {
        k: v
        for k, v in (("rate_hz", rate_hz), ("n_reps", reps), ("duration_s", duration_s))
        if v is not None
    }
    result = _run_simulation(scenario, seed, overrides)
    paths = write_simulation(out, result)
    n = len(result.truth)
    click.echo(f"wrote {', '.join(str(p) for p in paths)} ({n} true exchanges)", err=True)


# ---------------------------------------------------------------- demo


def _score_line(truth: list[Exchange], detected: list[Exchange]) -> str:
    """'found 4 of 4 true exchanges, 0 false alarms; median |error| grab 2.1 ms, …'."""
    try:
        sc = score(truth, detected)
    except ValueError as e:  # different clocks: nothing comparable
        return f"cannot compare with the truth: {e}"
    errors = ", ".join(
        f"{event} {sc.median(event):.1f} ms"
        for event in ("grab", "release", "overlap")
        if len(sc.abs_ms(event))
    )
    return (
        f"found {sc.n_matched} of {sc.n_true} true exchanges, {sc.n_false} false "
        f"alarm{'s' if sc.n_false != 1 else ''}" + (f"; median |error| {errors}" if errors else "")
    )


@main.command("offline-demo")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the simulated files here (default: a temp dir, removed afterwards).",
)
@click.option("--seed", default=1, show_default=True, type=int)
def offline_demo(out: Path | None, seed: int) -> None:
    """Simulate the 'demo' scenario, analyze it, show detections beside the truth."""
    if out is not None:
        _demo(out, seed, keep=True)
        return
    with tempfile.TemporaryDirectory(prefix="batonsense-demo-") as tmp:
        _demo(Path(tmp), seed, keep=False)


def _demo(out: Path, seed: int, keep: bool) -> None:
    """Simulate into `out`, read the files back, detect, print tables (keep: files stay)."""
    console = _stdout_console()
    result = _run_simulation("demo", seed, {})
    rec_path, sensors_path, _ = write_simulation(out, result)
    console.print(f"Simulated scenario 'demo' (seed {seed}) into {out}")
    try:
        rec = read_recording_csv(rec_path, read_sensors(sensors_path))
    except InputError as e:
        _fail(str(e))
    detected = _detect(rec, None)
    truth = sorted(result.truth, key=lambda x: x.time_s)
    console.print(exchanges_table(detected, title="Detected exchanges"))
    console.print(summary_line(detected, rec))
    console.print(comparison_table(truth, detected, match(truth, detected)))
    console.print(_score_line(truth, detected))
    if keep:
        console.print(f"Try it: batonsense analyze {rec_path} --sensors {sensors_path}")


def _add_commands() -> None:
    from .sensors import export, record, replay, scan
    from .service import demo, serve

    for command in (scan, replay, export, record, serve, demo):
        main.add_command(command)


_add_commands()
