"""``python -m landflood.cli`` is the ``landflood`` command."""

from landflood.cli import main

main()
