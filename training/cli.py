"""The `secondlook` command line: `data …`, `model train|calibrate|evaluate|export`, `photos check|quality|framing`.

Each command lives in its own module under `training.commands` and registers itself with `add_command`,
setting `handler` (a function from the parsed arguments to an exit code) as a parser default.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_GROUPS: dict[str, tuple[str, ...]] = {
    "data": (
        "training.commands.data_import",
        "training.commands.data_composite",
        "training.commands.data_split",
        "training.commands.data_validate",
        "training.commands.data_stats",
    ),
    "photos": (
        "training.commands.photos_check",
        "training.commands.photos_quality",
        "training.commands.photos_framing",
    ),
    "model": (
        "training.commands.model_train",
        "training.commands.model_calibrate",
        "training.commands.model_export",
        "training.commands.evaluate",
        "training.commands.model_compare",
        "training.commands.model_promote",
        "training.commands.model_distributions",
        "training.commands.model_grade_caution",
        "training.commands.model_confident",
        "training.commands.model_wear",
    ),
}
GROUP_HELP = {
    "data": "import, validate, split, describe and composite labeled photo datasets",
    "photos": "check photos through the same intake the service uses",
    "model": "train, calibrate, evaluate and export the grading network",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="secondlook", description=__doc__.splitlines()[0])
    groups = parser.add_subparsers(dest="group", required=True, metavar="{" + ",".join(COMMAND_GROUPS) + "}")
    for group, modules in COMMAND_GROUPS.items():
        group_parser = groups.add_parser(group, help=GROUP_HELP[group], description=GROUP_HELP[group])
        commands = group_parser.add_subparsers(dest="command", required=True)
        for module in modules:
            importlib.import_module(module).add_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; argument errors (argparse prints them) and --help return their exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_request:
        return int(exit_request.code or 0)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
