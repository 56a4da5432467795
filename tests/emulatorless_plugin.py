"""A third-party channel plugin that ships no emulator (the hook is optional), installed the way pip
leaves a package: its module and a ``.dist-info`` naming the ``herald.channels`` entry point, in a folder
on the path. It is the example plugin's channel under another name, less the emulator."""

from __future__ import annotations

from pathlib import Path

CHANNEL = "sms.noemulator"

_MODULE = f'''"""The example plugin's channel, renamed, with every hook but herald_channel_emulator."""

import dataclasses

from herald_webhook_channel import CHANNEL, herald_channel_sender, herald_validate_config
from kernel.plugins import hookimpl

__all__ = ["herald_channel_sender", "herald_channels", "herald_validate_config"]


@hookimpl
def herald_channels():
    return [dataclasses.replace(CHANNEL, name={CHANNEL!r})]
'''


def install(folder: Path) -> Path:
    """Install the plugin into ``folder`` (to put on ``sys.path`` or ``PYTHONPATH``) and return it."""
    (folder / "herald_noemulator_channel.py").write_text(_MODULE)
    metadata = folder / "herald_noemulator_channel-0.1.0.dist-info"
    metadata.mkdir()
    (metadata / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: herald-noemulator-channel\nVersion: 0.1.0\n"
    )
    (metadata / "entry_points.txt").write_text("[herald.channels]\nnoemulator = herald_noemulator_channel\n")
    return folder
