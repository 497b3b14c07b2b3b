"""SIE 4 files: the reader, the 4I writer, the SIE export channel and the double-import guard.

Standard library and ``exporters`` (core, providers) only: functions over bytes, streams and core objects
(``tests/sie/test_purity.py``). The modules:

- ``text.py``: bytes to lines of text (CP437 or UTF-8), lines to fields;
- ``reader.py`` and ``rows.py``: ``iter_sie``, the streaming reader; ``usual.py``: its fast lane (whole
  vouchers of the usual shape over the file's bytes), its balances summed by the optional C extension
  ``_speedups.c`` where it is built (CPython's C API only); ``document.py``: ``read_sie``;
- ``model.py``: what the reader yields; ``writer.py``: ``write_sie_4i``;
- ``export.py``: the SIE export channel; ``guard.py``: the double-import guard, layers 1 and 3.
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
