"""The sensors a service streams, and the changes made through the API that stream
from the next session on."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from batonsense.io.sensors_file import sensor_set_problem
from batonsense.model import SensorInfo
from batonsense.pipeline.session import Target
from batonsense.store import StoredSensor

#: a set of sensors and how to find each (sensor id → Target)
Sensors = tuple[tuple[SensorInfo, ...], dict[str, Target]]


class SensorSet:
    """The sensors streamed now (`sensors`, `targets`) and, when changed through the
    API, the set streamed from the next session on (`next`; None: no change).

    Every change keeps a valid set (one baton, one sensor per athlete's hand,
    ≥ 2 wrists): one that would not raises ValueError and changes nothing."""

    def __init__(self, sensors: Iterable[SensorInfo], targets: Iterable[Target]) -> None:
        self.sensors: tuple[SensorInfo, ...] = tuple(sensors)
        self.targets: dict[str, Target] = {t.sensor_id: t for t in targets}
        self.next: Sensors | None = None

    def target(self, sensor_id: str) -> Target:
        """How to find a streamed sensor (by its id alone if not configured)."""
        return self.targets.get(sensor_id, Target(sensor_id))

    def configured(self, sensor_id: str) -> tuple[SensorInfo, Target] | None:
        """A sensor as it will stream from the next session on (None: not in the set)."""
        sensors, targets = self.next or (self.sensors, self.targets)
        info = next((s for s in sensors if s.id == sensor_id), None)
        return None if info is None else (info, targets.get(sensor_id, Target(sensor_id)))

    def put(self, sensor: StoredSensor, save: Callable[[StoredSensor], None]) -> None:
        """Add or change a sensor from the next session on; save(sensor) stores it once
        the set is known to stay valid (if save raises, nothing changes).

        Raises ValueError (what is wrong) if the sensors would no longer make a
        valid set; then nothing changes."""
        sensors, targets = self.next or (self.sensors, self.targets)
        new = tuple(s for s in sensors if s.id != sensor.info.id)
        at = next((i for i, s in enumerate(sensors) if s.id == sensor.info.id), len(new))
        new = new[:at] + (sensor.info,) + new[at:]
        problem = sensor_set_problem(new)
        if problem is not None:
            raise ValueError(problem[0])
        save(sensor)
        target = Target(sensor.info.id, sensor.address, sensor.name)
        self._set_next(new, {**targets, sensor.info.id: target})

    def remove(self, sensor_id: str) -> None:
        """Take a sensor out of the set from the next session on (KeyError: not in it;
        ValueError: the rest would not be a valid set)."""
        sensors, targets = self.next or (self.sensors, self.targets)
        if all(s.id != sensor_id for s in sensors):
            raise KeyError(sensor_id)
        new = tuple(s for s in sensors if s.id != sensor_id)
        problem = sensor_set_problem(new)
        if problem is not None:
            raise ValueError(problem[0])
        self._set_next(new, {k: v for k, v in targets.items() if k != sensor_id})

    def apply_next(self) -> bool:
        """Stream the changed set from now on; False if there was no change."""
        if self.next is None:
            return False
        self.sensors, self.targets = self.next
        self.next = None
        return True

    def _set_next(self, sensors: tuple[SensorInfo, ...], targets: dict[str, Target]) -> None:
        same = sensors == self.sensors and all(
            targets.get(s.id, Target(s.id)) == self.targets.get(s.id, Target(s.id)) for s in sensors
        )
        self.next = None if same else (sensors, targets)
