"""Settings, logging set-up and the BAS default mapping: everything an entry point reads once at start."""

from config.settings import Settings, SettingsError, load_settings

__all__ = ["Settings", "SettingsError", "load_settings"]
