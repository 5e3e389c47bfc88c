"""What every benchmark checks before it starts: its corpus and data folders exist. On a fresh clone
they do not (the 200 MB corpus is built, the labelled data sets are downloaded by the user), so a
benchmark ends with one line saying what is missing and how to get it, and exit status 2, instead of
a traceback or an empty table with exit status 0."""
from __future__ import annotations

import sys
from pathlib import Path

HOW = {
    "corpus": "build it with `python ../shared/bench/build_corpus.py --out PATH` (200 MB of real text from this "
              "machine's docs, man pages and Python sources) and pass --corpus PATH",
    "data": "pass --data with the labelled data sets (the shared data folder, ../shared/data; see its README.md)",
    "fixtures": "pass --fixtures with licensee's license fixtures (../shared/data/licensee_fixtures)",
}


def require_inputs(args, names: tuple[str, ...] = ("corpus", "data", "fixtures")) -> None:
    """Exit with ``Error: PATH: <what> not found: <how to get it>`` when an input argument names a
    path that does not exist (arguments left unset are the script's business)."""
    for name in names:
        value = getattr(args, name, None)
        if value is None or value == "":
            continue
        path = Path(value)
        if not path.exists():
            print(f"Error: {path}: {name} not found; {HOW.get(name, 'give an existing path')}", file=sys.stderr)
            sys.exit(2)
