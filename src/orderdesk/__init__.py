"""orderdesk."""
