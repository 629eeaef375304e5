"""The command line's command groups, one module each; `botengine.cli` assembles them.

Each module defines `add_commands(sub)`. Commands are the top layer (beside the app): they call
the domain services (storage, dry runs, the dead-letter queue, …), which never call back up.
"""

from __future__ import annotations

# A new command group is one module here and one line in this list.
COMMAND_MODULES: list[str] = [
    "botengine.commands.serve",
    "botengine.commands.rules",
    "botengine.commands.emit",
    "botengine.commands.dlq",
    "botengine.commands.broadcast",
    "botengine.commands.codes",
    "botengine.commands.fake_wawp",
    "botengine.commands.docs",
]
