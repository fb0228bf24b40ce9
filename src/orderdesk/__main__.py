"""``python -m orderdesk`` runs the command line."""

from orderdesk.cli import main

main()
