"""`python -m bot.deploy cluster` (make cluster) and `python -m bot.deploy render-nginx`."""

import sys

from bot.deploy.cluster import main

sys.exit(main())
