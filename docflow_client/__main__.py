"""`python -m docflow_client ...`."""

import sys

from docflow_client.cli import main

sys.exit(main())
