"""Pure byte decoders, one module per sensor family.

Every decoder is a function bytes -> DecodedPacket (SI units, sensor clock)
that raises only batonsense.errors.DecodeError on malformed input.
"""

from ..errors import DecodeError
from ._packet import DecodedPacket

__all__ = ["DecodeError", "DecodedPacket"]
