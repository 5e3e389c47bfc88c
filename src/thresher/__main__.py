"""``python -m thresher``: the same as the ``thresher`` command."""
from thresher.cli import main

main()
