"""Kite Connect adapter."""
