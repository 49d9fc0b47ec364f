"""Run the recommender CLI: `python -m recommender --help`."""

import sys

from recommender.cli import main

if __name__ == "__main__":
    sys.exit(main())
