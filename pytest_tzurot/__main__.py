from pytest_tzurot.cli import main
import sys

sys.exit(main())
