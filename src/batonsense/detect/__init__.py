"""Exchange detection: holder tracking by gyro coupling, then fine event timing.

See docs/detection.md for the algorithm.
"""

from batonsense.detect.detector import DetectorConfig, ExchangeDetector, detect_exchanges

__all__ = ["DetectorConfig", "ExchangeDetector", "detect_exchanges"]
