import sys

from pytest_tzurot.cli import main

sys.exit(main())
