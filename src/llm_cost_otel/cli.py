"""The ``llm-cost-otel`` command: ``prices``, ``demo``, ``report`` and ``budgets render``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date

from .pricing import PriceBook, PriceOverrideError
from .pricing.dimensions import GEOS, SCOPES, model_scope
from .pricing.rates import RATE_UNITS
from .providers import PRICE_PROVIDERS, provider_of
from .semconv import PRICE_SOURCE, UNPRICED
from .version import __version__

# Plain text: argparse prints it as is (the module docstring has markup and is for developers).
DESCRIPTION = "Tools for llm-cost-otel, the OpenTelemetry plugin that prices LLM calls."
EPILOG = "Run 'llm-cost-otel COMMAND --help' for the options of a command."


def _provider(text: str) -> str:
    if text not in PRICE_PROVIDERS:
        raise argparse.ArgumentTypeError(f"unknown provider {text!r}; one of {', '.join(PRICE_PROVIDERS)}")
    return text


def _prices(args: argparse.Namespace) -> int:
    try:
        book = PriceBook.from_config(args.prices)
    except PriceOverrideError as exc:
        print(f"llm-cost-otel prices: error: {exc}", file=sys.stderr)
        return 2
    provider = args.provider
    inferred = None
    if provider is None:
        provider = provider_of(args.model)
        inferred = "inferred from the model name" if provider else "the default: the model name does not say"
        provider = provider or "anthropic"
    scope = args.scope
    if scope is None:
        scope = model_scope(provider, args.model)  # as the adapter reads it from the model id
    rates = book.rates(
        provider, args.model, batch=args.batch, when=args.date, tier=args.tier, scope=scope, geo=args.geo
    )
    how = f"provider: {provider} ({inferred}; pass --provider to choose)" if inferred else None
    if rates is None:
        print(
            f"{args.model} ({provider}): no price known. Calls will be recorded as unpriced "
            f"({PRICE_SOURCE}={UNPRICED}), never as $0. Add it to a price override file.",
        )
        if how:
            print(how)
        return 1
    extras = "".join(
        f", {label}{value}"
        for label, value in (
            ("", "batch" if args.batch else None),
            ("", args.tier),
            ("scope ", scope),
            ("geo ", args.geo),
        )
        if value
    )
    print(f"model:    {args.model} ({provider}{extras})")
    if how:
        print(how)
    print(f"matched:  {rates.model}")
    print(f"source:   {rates.source}")
    print(f"version:  {rates.version}")
    tiers = [("base", rates.base)] + [(f"input > {t:,} tokens", r) for t, r in rates.tiers]
    for label, rate_set in tiers:
        print(f"rates ({label}):")
        for name, value in rate_set.per_million().items():
            unit = RATE_UNITS[name].label
            origin = rates.origins.get(name if label == "base" else "tiers", "catalog")
            print(f"  {name:<17} {value:>10.4f} {unit:<18} [{origin}]")
    for note in rates.notes:
        print(f"note: {note}")
    return 0


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


def _render_budgets(args: argparse.Namespace) -> int:
    from .budgets import render_command

    return render_command(args.path, args.output, prog="llm-cost-otel budgets render")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llm-cost-otel", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # One short help line per command, so that each fits on one line of the top-level --help.
    sub = parser.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND")
    prices = sub.add_parser(
        "prices",
        help="show the rates applied to a model",
        description="Show the rates llm-cost-otel would apply to a model's calls, and where they come from.",
    )
    prices.add_argument("model")
    prices.add_argument(
        "--provider",
        type=_provider,
        help=f"one of {', '.join(PRICE_PROVIDERS)} (default: inferred from the model name)",
    )
    prices.add_argument("--batch", action="store_true", help="show batch rates")
    prices.add_argument(
        "--tier", choices=("flex", "priority", "fast"), help="price tier: Gemini flex/priority, Claude fast mode"
    )
    prices.add_argument(
        "--scope",
        choices=SCOPES,
        help="where the request runs: global, a geography or regional (Bedrock: default from the "
        "model id's prefix; Vertex AI: the client's location)",
    )
    prices.add_argument("--geo", choices=GEOS, help="Anthropic inference_geo the response reports")
    prices.add_argument("--date", type=_iso_date, help="price date, YYYY-MM-DD (default today)")
    prices.add_argument("--prices", help="price override file (default $LLM_COST_OTEL_PRICES)")
    prices.set_defaults(func=_prices)

    from .demo import configure_parser as configure_demo

    configure_demo(sub.add_parser("demo", help="run LLM traffic against a local fake API, print its cost"))

    from .ledger.report import configure_parser as configure_report

    configure_report(
        sub.add_parser(
            "report",
            help="spend from the cost ledger, grouped by any keys",
            description="Spend recorded in the cost ledger (instrument(ledger=...)), grouped by the given keys.",
        )
    )

    budgets = sub.add_parser(
        "budgets",
        help="turn spend budgets into Prometheus alert rules",
        description="Spend budgets declared in YAML, rendered into Prometheus recording and alert rules.",
    )
    budgets_sub = budgets.add_subparsers(dest="budgets_command", required=True, title="commands", metavar="COMMAND")
    render = budgets_sub.add_parser(
        "render",
        help="render a budgets YAML file into Prometheus rules",
        description="Render a budgets YAML file into a Prometheus rule file.",
    )
    render.add_argument("path", help="budgets file (YAML)")
    render.add_argument("-o", "--output", help="write here instead of standard output")
    render.set_defaults(func=_render_budgets)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
