"""Scenarios without exchanges (filled in below)."""
