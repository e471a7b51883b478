"""``python -m kernel.cli``: the ``crm`` command."""

from . import main

main()
