"""Bluetooth LE ingestion through bleak (real adapters, or the bumble virtual radio)."""
