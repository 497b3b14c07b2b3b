"""Visma eEkonomi ("Bokföring & Fakturering", the eAccounting API v2): OAuth2, the API client,
preflight, the provider plug-in (``provider``: identifier ``"visma"``) and, in ``sandbox/``, a faithful
local Visma. The same shape as ``exporters.fortnox``; tokens, their store and cipher and the rate limiter
are Fortnox's, reused.
"""
