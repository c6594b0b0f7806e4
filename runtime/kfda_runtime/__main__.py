import sys

from kfda_runtime.cli import main

sys.exit(main())
