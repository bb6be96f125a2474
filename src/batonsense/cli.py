"""Command line: `batonsense analyze | simulate | offline-demo | scan | record | replay | export`
and the service: `serve | demo` (`batonsense.service.commands`).

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
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

import batonsense.sim as sim_pkg
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

#: Show progress by default only for recordings bigger or longer than these.
LONG_FILE_BYTES = 50_000_000
LONG_RECORDING_S = 60.0

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="batonsense")
def main() -> None:
    """Time relay baton exchanges from IMUs on the baton and the runners' wrists."""


# ---------------------------------------------------------------- analyze


@main.command()
@click.argument("recording", type=_FilePath)
@click.option("--sensors", "sensors_path", required=True, type=_FilePath,
              help="Sensors file (TOML): baton and wrist sensors.")
@click.option("--json", "as_json", is_flag=True,
              help='Print one JSON object {"exchanges": [...]} on stdout instead of a table.')
@click.option("--progress/--no-progress", default=None,
              help="Progress bar on stderr (default: for long recordings on a terminal).")
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
        TextColumn("{task.description:<10}"), BarColumn(), TaskProgressColumn(),
        TimeElapsedColumn(), console=Console(stderr=True), transient=False,
    )

    def task(name: str) -> Callable[[float], None]:
        tid = bar.add_task(name, total=1.0)
        return lambda fraction: bar.update(tid, completed=min(max(fraction, 0.0), 1.0))

    with bar:
        yield task


# ---------------------------------------------------------------- simulate


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


def write_simulation(out: Path, result: Any) -> tuple[Path, Path, Path]:
    """DIR/recording.csv, DIR/sensors.toml, DIR/truth.json of a SimResult."""
    out.mkdir(parents=True, exist_ok=True)
    rec_path, sensors_path, truth_path = (
        out / "recording.csv", out / "sensors.toml", out / "truth.json")
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
            v.to_dict() if hasattr(v, "to_dict")
            else dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v
            for v in value
        ]
        json.dumps(items, default=str)
        return json.loads(json.dumps(items, default=str))
    except (TypeError, ValueError):
        return None


@main.command()
@click.option("--scenario", required=True, help="Scenario name (batonsense.sim.SCENARIOS).")
@click.option("--seed", required=True, type=int, help="Random seed (same seed, same files).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output directory (created if missing).")
@click.option("--rate-hz", type=click.FloatRange(min=1.0), help="Sample rate override (Hz).")
@click.option("--reps", type=click.IntRange(min=1), help="Number of repetitions override.")
@click.option("--duration-s", type=click.FloatRange(min=0.0, min_open=True),
              help="Recording duration override (s).")
def simulate(scenario: str, seed: int, out: Path, rate_hz: float | None, reps: int | None,
             duration_s: float | None) -> None:
    """Simulate a scenario: writes DIR/recording.csv, DIR/sensors.toml, DIR/truth.json."""
    overrides = {k: v for k, v in
                 (("rate_hz", rate_hz), ("n_reps", reps), ("duration_s", duration_s))
                 if v is not None}
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
        f"{event} {sc.median(event):.1f} ms" for event in ("grab", "release", "overlap")
        if len(sc.abs_ms(event))
    )
    return (f"found {sc.n_matched} of {sc.n_true} true exchanges, {sc.n_false} false "
            f"alarm{'s' if sc.n_false != 1 else ''}"
            + (f"; median |error| {errors}" if errors else ""))


@main.command("offline-demo")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the simulated files here (default: a temp dir, removed afterwards).")
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


# ---------------------------------------------------------------- scan


@main.command()
@click.option("--timeout-s", default=5.0, show_default=True,
              type=click.FloatRange(min=0.0, min_open=True), help="How long to listen (s).")
@click.option("--virtual", "virtual", type=click.IntRange(min=1, max=32), default=None,
              help="Scan N virtual sensors on an in-process radio instead of the adapter.")
@click.option("--battery/--no-battery", default=True, show_default=True,
              help="Connect to recognised sensors that don't advertise a battery level "
                   "and read it.")
@click.option("--json", "as_json", is_flag=True,
              help='Print one JSON object {"sensors": [...]} on stdout instead of a table.')
def scan(timeout_s: float, virtual: int | None, battery: bool, as_json: bool) -> None:
    """List the Bluetooth LE sensors in range: name, address, RSSI, protocol, battery."""
    import asyncio

    from batonsense.sources.ble.scan import scan_sensors

    async def run() -> list[Any]:
        backend = None if virtual is None else await _virtual_backend(virtual)
        return await scan_sensors(timeout_s, backend=backend, read_batteries=battery)

    try:
        seen = asyncio.run(run())
    except Exception as e:  # noqa: BLE001 - no adapter, no D-Bus, adapter off: one clear line
        _fail(f"cannot scan: {type(e).__name__}: {e} "
              "(no Bluetooth adapter? try --virtual N)", code=1)
    if as_json:
        click.echo(json.dumps({"sensors": [_seen_dict(s) for s in seen]}))
        return
    _stdout_console().print(_seen_table(seen, timeout_s))


async def _virtual_backend(n: int) -> Any:
    """n virtual batonsense v1 sensors advertising on a fresh in-process radio."""
    import numpy as np

    from batonsense.model import SensorStream
    from batonsense.sources.ble.bumble_backend import bumble_backend
    from batonsense.sources.virtual import VirtualRadio, VirtualSensor

    radio = VirtualRadio()
    t_s = np.arange(20) / 200.0
    still = SensorStream("still", t_s, np.tile([0.0, 0.0, 9.80665], (20, 1)), np.zeros((20, 3)))
    for i in range(n):
        sensor = VirtualSensor(radio, still, battery_percent=95.0 - 7.0 * (i % 12), seed=i)
        await sensor.start()
    return bumble_backend(radio)


def _seen_dict(s: Any) -> dict[str, Any]:
    return {"name": s.name, "address": s.address, "rssi_dbm": s.rssi_dbm,
            "protocol": s.protocol.value, "recognised_by": s.recognised_by,
            "battery_percent": s.battery_percent, "battery_from": s.battery_from or None}


def _seen_table(seen: list[Any], timeout_s: float) -> Any:
    from rich.table import Table

    table = Table(title=f"{len(seen)} device{'s' if len(seen) != 1 else ''} seen "
                        f"in {timeout_s:g} s")
    for column, justify in (("name", "left"), ("address", "left"), ("RSSI dBm", "right"),
                            ("protocol", "left"), ("battery", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for s in seen:
        battery = "-" if s.battery_percent is None else f"{s.battery_percent} %"
        if s.battery_from == "advertised":
            battery += " (adv)"
        protocol = s.protocol.label + (" (by name)" if s.recognised_by == "name" else "")
        table.add_row(s.name or "-", s.address, "-" if s.rssi_dbm is None else str(s.rssi_dbm),
                      protocol, battery)
    return table


# ---------------------------------------------------------------- replay, export


def _replay(raw: Path, sensors_path: Path, *, detect: bool, record: bool) -> Any:
    """pipeline.replay_raw with InputErrors turned into exit status 2."""
    from batonsense.pipeline import read_aliases, read_routes, replay_raw

    try:
        sensors = read_sensors(sensors_path)
        return replay_raw(
            raw,
            sensors,
            aliases=read_aliases(sensors_path),
            routes=read_routes(sensors_path),
            detect=detect,
            record=record,
        )
    except InputError as e:
        _fail(str(e))
    except OSError as e:
        _fail(f"{raw}: {e.strerror or e}")


def _sensor_table(stats: Any) -> Any:
    from rich.table import Table

    table = Table(title="Sensors")
    for col in ("sensor", "packets", "lost %", "decode err", "reboots", "offset s",
                "drift ppm", "rate Hz", "battery %"):
        table.add_column(col, justify="left" if col == "sensor" else "right")

    def f(v: float | None, fmt: str) -> str:
        return "–" if v is None else format(v, fmt)

    for sid, s in stats.items():
        table.add_row(sid, str(s.packets), f"{s.lost_pct:.1f}", str(s.decode_errors),
                      str(s.reboots), f(s.offset_s, ".3f"), f(s.drift_ppm, ".1f"),
                      f(s.rate_hz, ".1f"), f(s.battery_pct, "d"))
    return table


@main.command()
@click.argument("raw", type=_FilePath)
@click.option("--sensors", "sensors_path", required=True, type=_FilePath,
              help="Sensors file (TOML); optional `address`/`name` keys map BLE devices to ids.")
@click.option("--json", "as_json", is_flag=True,
              help='Print one JSON object {"exchanges": [...], "sensors": {...}} on stdout.')
def replay(raw: Path, sensors_path: Path, as_json: bool) -> None:
    """Replay a raw notification file through the live pipeline and detector."""
    result = _replay(raw, sensors_path, detect=True, record=False)
    if result.skipped_bytes:
        click.echo(f"batonsense: {raw}: ignored a torn tail of {result.skipped_bytes} bytes",
                   err=True)
    if as_json:
        doc = exchanges_document(result.exchanges)
        doc["sensors"] = {sid: s.to_dict() for sid, s in result.stats.items()}
        click.echo(json.dumps(doc))
        return
    console = _stdout_console()
    console.print(exchanges_table(list(result.exchanges), title=f"Exchanges in {raw.name}"))
    console.print(_sensor_table(result.stats))


@main.command()
@click.argument("raw", type=_FilePath)
@click.option("--sensors", "sensors_path", required=True, type=_FilePath,
              help="Sensors file (TOML); optional `address`/`name` keys map BLE devices to ids.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Recording CSV to write (host monotonic clock).")
def export(raw: Path, sensors_path: Path, out: Path) -> None:
    """Export a raw notification file to the recording CSV (decoded, clock-synced)."""
    result = _replay(raw, sensors_path, detect=False, record=True)
    write_recording_csv(out, result.recording, comment=f"exported from {raw.name}; "
                        "clock: host_monotonic (s)")
    n = sum(len(s) for s in result.recording.streams.values())
    click.echo(f"wrote {out} ({n} samples)", err=True)


# ---------------------------------------------------------------- record


@main.command()
@click.option("--sensors", "sensors_path", type=_FilePath, default=None,
              help="Sensors file (TOML); each sensor's `address` or `name` key finds its "
                   "device.  Optional with --virtual (the demo drill's sensors are used).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Raw notification file to write (for `replay` / `export`).")
@click.option("--duration-s", type=click.FloatRange(min=0.0, min_open=True), default=None,
              help="Stop after this long (s, from when the sensors are connected); "
                   "default: until Ctrl-C.")
@click.option("--scan-s", "scan_s", default=5.0, show_default=True,
              type=click.FloatRange(min=0.0, min_open=True),
              help="Look for the configured sensors at most this long (s).")
@click.option("--virtual", is_flag=True,
              help="No hardware: virtual sensors play the simulated 'demo' drill.")
@click.option("--fast", is_flag=True, help="With --virtual: virtual time (as fast as the CPU).")
@click.option("--seed", default=1, show_default=True, type=int,
              help="With --virtual: the demo drill's seed.")
@click.option("--append", is_flag=True, help="Append to an existing raw file.")
@click.option("--json", "as_json", is_flag=True,
              help="Print each exchange as one JSON object per line on stdout.")
@click.option("--status/--no-status", default=None,
              help="Live sensor status table on stderr (default: when stderr is a terminal).")
def record(sensors_path: Path | None, out: Path, duration_s: float | None, scan_s: float,
           virtual: bool, fast: bool, seed: int, append: bool, as_json: bool,
           status: bool | None) -> None:
    """Connect the configured sensors, stream and record them, report exchanges live."""
    from batonsense.pipeline.session import NoSensorFound, read_targets, run_record
    from batonsense.sources.raw import RawFileSink

    if fast and not virtual:
        _fail("--fast needs --virtual")
    if sensors_path is None and not virtual:
        _fail("--sensors is required (or try --virtual)")
    if out.exists() and out.stat().st_size > 0 and not append:
        _fail(f"{out}: already exists (use --append to add to it)")
    sim = _run_simulation("demo", seed, {}) if virtual else None
    try:
        if sensors_path is None:
            sensors = sim.recording.sensors
            sensors_path = out.with_name(out.stem + ".sensors.toml")
            write_sensors_toml(sensors_path, sensors)
            click.echo(f"batonsense: using the demo drill's sensors, written to {sensors_path}",
                       err=True)
        else:
            sensors = read_sensors(sensors_path)
        targets = read_targets(sensors_path, sensors)
    except InputError as e:
        _fail(str(e))
    show = sys.stderr.isatty() if status is None else status
    err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
    with RawFileSink(out) as raw, _record_display(show, err) as (live, on_status):

        def on_exchange(x: Exchange) -> None:
            click.echo(json.dumps(x.to_dict()) if as_json else _exchange_line(x))

        failure: tuple[str, int] | None = None
        try:
            result, _ = run_record(
                sensors, targets, raw, duration_s=duration_s, scan_timeout_s=scan_s,
                sim=sim, fast=fast, seed=seed, on_exchange=on_exchange,
                on_message=lambda m: err.print(f"batonsense: {m}", highlight=False,
                                               soft_wrap=True),
                on_status=on_status,
            )
            live.update(_status_renderable(list(result.status.values())), refresh=True)
        except NoSensorFound as e:
            hint = "check the `address`/`name` keys, and that the sensors are on and in range"
            failure = (f"{e}; nothing recorded ({sensors_path}: {hint})", EXIT_INPUT)
        except Exception as e:  # noqa: BLE001 - no adapter, no D-Bus, adapter off: one line
            hint = "(no Bluetooth adapter? try --virtual)"
            failure = (f"cannot record: {type(e).__name__}: {e} {hint}", 1)
    if failure is not None:
        if raw.records == 0 and not append:
            out.unlink(missing_ok=True)  # don't leave an empty file behind
        _fail(*failure)
    if not show:
        err.print(_status_renderable(list(result.status.values())))
    n = len(result.exchanges)
    missing = f"; not recorded: {', '.join(result.missing)}" if result.missing else ""
    why = {"duration": "duration reached", "stop": "interrupted",
           "until": "end of the virtual drill"}[result.stopped_by]
    err.print(f"batonsense: recorded {result.duration_s:.1f} s ({why}) into {out}: "
              f"{result.raw_records} notifications, {n} exchange{'s' if n != 1 else ''}"
              f"{missing}.  Replay: batonsense replay {out} --sensors {sensors_path}",
              highlight=False, soft_wrap=True)


def _exchange_line(x: Exchange) -> str:
    from batonsense.report import fmt_ms, fmt_s, hands, warning

    line = (f"exchange {x.giver or '?'} → {x.receiver or '?'} {hands(x)}  "
            f"reach {fmt_s(x.reach_s)} s  grab {fmt_s(x.grab_s)} s  "
            f"release {fmt_s(x.release_s)} s  overlap {fmt_ms(x.overlap_ms)} ms  "
            f"{x.outcome.value}")
    note = warning(x)
    return line + (f"  ({note})" if note else "")


def _status_renderable(rows: list[Any]) -> Any:
    from batonsense.pipeline.session import status_table

    return status_table(rows)


@contextmanager
def _record_display(show: bool, console: Console) -> Iterator[tuple[Any, Any]]:
    """Yields (live, on_status): a rich Live on stderr refreshed at most 4×/s of wall
    time, or a do-nothing stand-in when not shown."""
    import time

    from rich.live import Live

    if not show:
        class _Off:
            def update(self, *_a: Any, **_k: Any) -> None: ...

        yield _Off(), None
        return
    last = [0.0]
    with Live(console=console, auto_refresh=False, transient=False,
              redirect_stdout=sys.stdout.isatty(), redirect_stderr=False) as live:
        def on_status(rows: list[Any]) -> None:
            t = time.perf_counter()
            if t - last[0] >= 0.25:
                last[0] = t
                live.update(_status_renderable(rows), refresh=True)

        yield live, on_status


def _add_service_commands() -> None:
    from batonsense.service.commands import demo, serve

    main.add_command(serve)
    main.add_command(demo)


_add_service_commands()
