"""Imports every rule module so that each registers itself (one line per rule)."""
