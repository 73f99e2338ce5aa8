"""Allow ``python -m castsmith``."""

from castsmith.cli import main

main()
