"""SIE 4 files: the reader, the 4I writer, the SIE export channel and the double-import guard.

Standard library and ``exporters.core`` only: functions over bytes, streams and core objects.
"""

from exporters.sie.document import read_sie
from exporters.sie.errors import ChannelConflict, SieError
from exporters.sie.model import Account, Balance, Record, SieFile, SieTrans, SieVoucher
from exporters.sie.reader import SieReader, iter_sie

__all__ = [
    "Account",
    "Balance",
    "ChannelConflict",
    "Record",
    "SieError",
    "SieFile",
    "SieReader",
    "SieTrans",
    "SieVoucher",
    "iter_sie",
    "read_sie",
]
