"""Physically grounded simulator of relay exchanges (stub until it lands)."""
