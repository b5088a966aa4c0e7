"""The `graphc` command's parser and argument types: a bad argument is one usage line, before any work.

Every subcommand checks its arguments with these types, so `--steps -5` or an
`--out` in a missing folder is refused as `graphc: error: ...` (exit status 2)
instead of running silently, or failing with a traceback after minutes of work.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Callable, NoReturn

#: the exit status of a bad command line (argparse's); a failure while running exits 1
USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse's parser, reporting a usage error as one line (`graphc: error: ...`) instead of usage + error."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.partition(" ")[2]
        where = f"{command}: " if command else ""
        print(f"graphc: error: {where}{message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(USAGE)


class Renamed(argparse.Action):
    """An option's old name, still accepted: it sets the new option's value and warns on stderr with the new name.

    `add_argument("--old", dest=<new's dest>, action=Renamed, new="--new", why="...", help=argparse.SUPPRESS)`;
    `why` says why the old value means the same under the new name.
    """

    def __init__(self, option_strings: list[str], dest: str, new: str, why: str = "", **kwargs) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.new, self.why = new, why

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        command = parser.prog.partition(" ")[2]
        why = f" ({self.why})" if self.why else ""
        print(f"graphc: warning: {command + ': ' if command else ''}{option_string} is renamed {self.new}{why}; "
              f"it still works for now", file=sys.stderr)
        setattr(namespace, self.dest, values)


def positive_int(text: str) -> int:
    """A whole number >= 1 (a count of steps, a depth, a width)."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def natural_int(text: str) -> int:
    """A whole number >= 0 (a seed, a depth where 0 keeps only the outputs)."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative (give 0 or more)")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (a time limit)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def subset(known: tuple[str, ...]) -> Callable[[str], tuple[str, ...]]:
    """A type: a non-empty comma-separated subset of `known`."""
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(n.strip() for n in text.split(",") if n.strip())
        unknown = [n for n in names if n not in known]
        if unknown or not names:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(unknown) or repr(text)}; "
                                             f"choose from {','.join(known)}")
        return names
    return parse


def output_file(text: str) -> str:
    """A file to write: its folder exists and it is not itself a folder."""
    folder = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(folder):
        raise argparse.ArgumentTypeError(f"the folder of {text!r} does not exist (create it first)")
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; give a file name")
    return text


def output_folder(text: str) -> str:
    """A folder to write into, made if missing: not an existing file, and its nearest existing parent a folder."""
    path = os.path.abspath(text)
    if os.path.exists(path) and not os.path.isdir(path):
        raise argparse.ArgumentTypeError(f"{text!r} is a file, not a folder")
    parent = path
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise argparse.ArgumentTypeError(f"{text!r} cannot be made: {parent} is a file")
    return text


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
