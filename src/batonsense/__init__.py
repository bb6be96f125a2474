"""batonsense: wearable-sensor timing of relay baton exchanges.

Data flows one way: io (recordings) → detect (exchanges) → cli.  The simulator
(`batonsense.sim`) produces recordings with known ground truth for tests and
benchmarks.
"""

__version__ = "0.1.0"
