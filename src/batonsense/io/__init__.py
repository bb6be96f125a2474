"""File input/output: sensors files (TOML), recordings (CSV), exchanges (JSON)."""

from batonsense.io.exchanges_json import (
    dump_exchanges_json,
    exchanges_document,
    load_exchanges_json,
)
from batonsense.io.recording_csv import read_recording_csv, write_recording_csv
from batonsense.io.sensors_file import read_sensors, write_sensors_toml

__all__ = [
    "dump_exchanges_json",
    "exchanges_document",
    "load_exchanges_json",
    "read_recording_csv",
    "read_sensors",
    "write_recording_csv",
    "write_sensors_toml",
]
