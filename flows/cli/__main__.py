"""``python -m flows.cli``: the same entry point as the ``wirehouse`` console script."""

from flows.cli import main

main()
