"""``python -m llm_cost_otel.demo [--duration 30s] [--rate N]``."""

from __future__ import annotations

import sys

from .command import main

sys.exit(main())
