"""Honest in-memory stand-ins for the external roles, for unit tests only."""
