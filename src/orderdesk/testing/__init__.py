"""Test kits for people extending orderdesk (needs pytest; not imported by orderdesk itself)."""
