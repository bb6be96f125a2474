"""Exchange detection: holder tracking by gyro coupling, then fine event timing.

See docs/detection.md for the algorithm and config.py for every parameter.
"""

from batonsense.detect.config import DetectorConfig
from batonsense.detect.detector import ExchangeDetector, detect_exchanges

__all__ = ["DetectorConfig", "ExchangeDetector", "detect_exchanges"]
