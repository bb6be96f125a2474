"""Sensor commands: `scan`, `replay`, `export`, `record` (BLE, raw files, virtual sensors)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from batonsense.errors import InputError
from batonsense.io import exchanges_document, read_sensors, write_recording_csv, write_sensors_toml
from batonsense.model import Exchange
from batonsense.report import exchanges_table

from ._common import EXIT_INPUT, _fail, _FilePath, _run_simulation, _stdout_console

# ---------------------------------------------------------------- scan


@click.command()
@click.option(
    "--timeout-s",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.0, min_open=True),
    help="How long to listen (s).",
)
@click.option(
    "--virtual",
    "virtual",
    type=click.IntRange(min=1, max=32),
    default=None,
    help="Scan N virtual sensors on an in-process radio instead of the adapter.",
)
@click.option(
    "--battery/--no-battery",
    default=True,
    show_default=True,
    help="Connect to recognised sensors that don't advertise a battery level and read it.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print one JSON object {"sensors": [...]} on stdout instead of a table.',
)
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
        _fail(
            f"cannot scan: {type(e).__name__}: {e} (no Bluetooth adapter? try --virtual N)", code=1
        )
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
    return {
        "name": s.name,
        "address": s.address,
        "rssi_dbm": s.rssi_dbm,
        "protocol": s.protocol.value,
        "recognised_by": s.recognised_by,
        "battery_percent": s.battery_percent,
        "battery_from": s.battery_from or None,
    }


def _seen_table(seen: list[Any], timeout_s: float) -> Any:
    from rich.table import Table

    table = Table(
        title=f"{len(seen)} device{'s' if len(seen) != 1 else ''} seen in {timeout_s:g} s"
    )
    for column, justify in (
        ("name", "left"),
        ("address", "left"),
        ("RSSI dBm", "right"),
        ("protocol", "left"),
        ("battery", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for s in seen:
        battery = "-" if s.battery_percent is None else f"{s.battery_percent} %"
        if s.battery_from == "advertised":
            battery += " (adv)"
        protocol = s.protocol.label + (" (by name)" if s.recognised_by == "name" else "")
        table.add_row(
            s.name or "-",
            s.address,
            "-" if s.rssi_dbm is None else str(s.rssi_dbm),
            protocol,
            battery,
        )
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


_SPANS_SHOWN = 10  # damaged byte ranges listed on stderr; the rest are counted


def _report_input(raw: Path, sensors_path: Path, result: Any) -> None:
    """On stderr: skipped byte ranges (damage, torn tail) and records of unknown devices."""
    if result.damaged:
        n = len(result.damaged)
        spans = ", ".join(f"{s.start}-{s.end}" for s in result.damaged[:_SPANS_SHOWN])
        more = f" and {n - _SPANS_SHOWN} more" if n > _SPANS_SHOWN else ""
        size = sum(s.size for s in result.damaged)
        click.echo(
            f"batonsense: {raw}: skipped {n} damaged span{'s' if n != 1 else ''} "
            f"({size} bytes, about {result.damaged_records} record"
            f"{'s' if result.damaged_records != 1 else ''}; bad CRC or length) at bytes "
            f"{spans}{more}; read the {result.records} intact records around them",
            err=True,
        )
    if result.torn_tail_bytes:
        click.echo(
            f"batonsense: {raw}: ignored a torn tail of {result.torn_tail_bytes} bytes "
            "(the last record, cut short)",
            err=True,
        )
    if result.unknown_keys:
        n = sum(result.unknown_keys.values())
        devices = ", ".join(
            f"{k} ({c})" for k, c in sorted(result.unknown_keys.items(), key=lambda kv: -kv[1])
        )
        click.echo(
            f"batonsense: {raw}: {n} record{'s' if n != 1 else ''} of devices not in "
            f"{sensors_path}, not replayed: {devices}",
            err=True,
        )


def _sensor_table(stats: Any) -> Any:
    from rich.table import Table

    table = Table(title="Sensors")
    for col in (
        "sensor",
        "packets",
        "lost %",
        "decode err",
        "reboots",
        "dups",
        "overflow",
        "offset s",
        "drift ppm",
        "rate Hz",
        "battery %",
    ):
        table.add_column(col, justify="left" if col == "sensor" else "right")

    def f(v: float | None, fmt: str) -> str:
        return "–" if v is None else format(v, fmt)

    for sid, s in stats.items():
        table.add_row(
            sid,
            str(s.packets),
            f"{s.lost_pct:.1f}",
            str(s.decode_errors),
            str(s.reboots),
            str(s.duplicates),
            str(s.overflow_samples),
            f(s.offset_s, ".3f"),
            f(s.drift_ppm, ".1f"),
            f(s.rate_hz, ".1f"),
            f(s.battery_pct, "d"),
        )
    return table


@click.command()
@click.argument("raw", type=_FilePath)
@click.option(
    "--sensors",
    "sensors_path",
    required=True,
    type=_FilePath,
    help="Sensors file (TOML); optional `address`/`name` keys map BLE devices to ids.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print one JSON object {"exchanges": [...], "sensors": {...}} on stdout.',
)
def replay(raw: Path, sensors_path: Path, as_json: bool) -> None:
    """Replay a raw notification file through the live pipeline and detector."""
    result = _replay(raw, sensors_path, detect=True, record=False)
    _report_input(raw, sensors_path, result)
    if as_json:
        doc = exchanges_document(result.exchanges)
        doc["sensors"] = {sid: s.to_dict() for sid, s in result.stats.items()}
        click.echo(json.dumps(doc))
        return
    console = _stdout_console()
    console.print(exchanges_table(list(result.exchanges), title=f"Exchanges in {raw.name}"))
    console.print(_sensor_table(result.stats))


@click.command()
@click.argument("raw", type=_FilePath)
@click.option(
    "--sensors",
    "sensors_path",
    required=True,
    type=_FilePath,
    help="Sensors file (TOML); optional `address`/`name` keys map BLE devices to ids.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Recording CSV to write (host monotonic clock).",
)
def export(raw: Path, sensors_path: Path, out: Path) -> None:
    """Export a raw notification file to the recording CSV (decoded, clock-synced)."""
    result = _replay(raw, sensors_path, detect=False, record=True)
    _report_input(raw, sensors_path, result)
    write_recording_csv(
        out, result.recording, comment=f"exported from {raw.name}; clock: host_monotonic (s)"
    )
    n = sum(len(s) for s in result.recording.streams.values())
    click.echo(f"wrote {out} ({n} samples)", err=True)


# ---------------------------------------------------------------- record


@click.command()
@click.option(
    "--sensors",
    "sensors_path",
    type=_FilePath,
    default=None,
    help="Sensors file (TOML); each sensor's `address` or `name` key finds its "
    "device.  Optional with --virtual (the demo drill's sensors are used).",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Raw notification file to write (for `replay` / `export`).",
)
@click.option(
    "--duration-s",
    type=click.FloatRange(min=0.0, min_open=True),
    default=None,
    help="Stop after this long (s, from when the sensors are connected); default: until Ctrl-C.",
)
@click.option(
    "--scan-s",
    "scan_s",
    default=5.0,
    show_default=True,
    type=click.FloatRange(min=0.0, min_open=True),
    help="Look for the configured sensors at most this long (s).",
)
@click.option(
    "--virtual", is_flag=True, help="No hardware: virtual sensors play the simulated 'demo' drill."
)
@click.option("--fast", is_flag=True, help="With --virtual: virtual time (as fast as the CPU).")
@click.option(
    "--seed", default=1, show_default=True, type=int, help="With --virtual: the demo drill's seed."
)
@click.option("--append", is_flag=True, help="Append to an existing raw file.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print each exchange as one JSON object per line on stdout.",
)
@click.option(
    "--status/--no-status",
    default=None,
    help="Live sensor status table on stderr (default: when stderr is a terminal).",
)
def record(
    sensors_path: Path | None,
    out: Path,
    duration_s: float | None,
    scan_s: float,
    virtual: bool,
    fast: bool,
    seed: int,
    append: bool,
    as_json: bool,
    status: bool | None,
) -> None:
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
            click.echo(
                f"batonsense: using the demo drill's sensors, written to {sensors_path}", err=True
            )
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
                sensors,
                targets,
                raw,
                duration_s=duration_s,
                scan_timeout_s=scan_s,
                sim=sim,
                fast=fast,
                seed=seed,
                on_exchange=on_exchange,
                on_message=lambda m: err.print(f"batonsense: {m}", highlight=False, soft_wrap=True),
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
    why = {
        "duration": "duration reached",
        "stop": "interrupted",
        "until": "end of the virtual drill",
    }[result.stopped_by]
    err.print(
        f"batonsense: recorded {result.duration_s:.1f} s ({why}) into {out}: "
        f"{result.raw_records} notifications, {n} exchange{'s' if n != 1 else ''}"
        f"{missing}.  Replay: batonsense replay {out} --sensors {sensors_path}",
        highlight=False,
        soft_wrap=True,
    )


def _exchange_line(x: Exchange) -> str:
    from batonsense.report import fmt_ms, fmt_s, hands, warning

    line = (
        f"exchange {x.giver or '?'} → {x.receiver or '?'} {hands(x)}  "
        f"reach {fmt_s(x.reach_s)} s  grab {fmt_s(x.grab_s)} s  "
        f"release {fmt_s(x.release_s)} s  overlap {fmt_ms(x.overlap_ms)} ms  "
        f"{x.outcome.value}"
    )
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
    with Live(
        console=console,
        auto_refresh=False,
        transient=False,
        redirect_stdout=sys.stdout.isatty(),
        redirect_stderr=False,
    ) as live:

        def on_status(rows: list[Any]) -> None:
            t = time.perf_counter()
            if t - last[0] >= 0.25:
                last[0] = t
                live.update(_status_renderable(rows), refresh=True)

        yield live, on_status
