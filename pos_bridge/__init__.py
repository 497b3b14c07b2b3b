"""The POS bridge: runs beside the cash register and gets its Z-reports to the BackOffice, nothing lost.

It ships alone to the store: it may import the pure core (``exporters.core``), never ``backoffice``.
"""
