import sys

from .player import main

sys.exit(main())
