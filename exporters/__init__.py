"""The accounting core (``exporters.core``, pure) and its outputs: Fortnox, SIE files, Visma."""
