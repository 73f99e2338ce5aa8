"""Settings: one object read from CLI flags, the environment and ``castsmith.toml``.

Precedence, highest first: values passed in (CLI flags), environment variables, the
TOML file (``CASTSMITH_CONFIG`` or ``./castsmith.toml``), then defaults. Every setting
has a ``CASTSMITH_*`` environment name; the names the older scripts used
(``RUNPOD_API_KEY``, ``AWS_ACCESS_KEY``, ``S3_ENDPOINT``, ...) are accepted as aliases.

The fields are declared by concern in the modules of this package and joined in
:class:`~castsmith.config.settings.Settings`; import everything from here.
"""

from __future__ import annotations

from castsmith.config.aliases import config_file_path
from castsmith.config.limits import ProviderLimit
from castsmith.config.providers import REMOTE_PROVIDERS
from castsmith.config.settings import Settings, load_settings
from castsmith.config.storage import MAX_PRESIGN_SECONDS
from castsmith.config.trainer import TrainerSettings

__all__ = [
    "MAX_PRESIGN_SECONDS",
    "REMOTE_PROVIDERS",
    "ProviderLimit",
    "Settings",
    "TrainerSettings",
    "config_file_path",
    "load_settings",
]
