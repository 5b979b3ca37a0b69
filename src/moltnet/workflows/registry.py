"""Imports every workflow module so its DBOS decorators register before launch."""

from __future__ import annotations
