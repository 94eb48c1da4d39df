import sys

from groundset.cli import main

sys.exit(main())
