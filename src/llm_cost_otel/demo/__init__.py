"""``llm-cost-otel demo``: see what the plugin records, with no API key, network or Docker.

- :mod:`.server`: a fake Anthropic + Gemini API on 127.0.0.1 that the real SDKs work against.
- :mod:`.workload`: product-like traffic (features, tenants, users, both providers), wrapped in
  ``llm_cost_otel.attributes()`` and ``track()`` the way an app would be.
- :mod:`.report`: the cost report, computed from the plugin's own spans and metrics.
- :mod:`.command`: ``main(argv)`` / ``configure_parser(parser)`` for the CLI.

Importing this package costs only the standard library.
"""

from __future__ import annotations

from .command import DemoError, Options, configure_parser, main, run, run_from_args

__all__ = ["DemoError", "Options", "configure_parser", "main", "run", "run_from_args"]
