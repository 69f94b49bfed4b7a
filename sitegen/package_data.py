"""Files that ship inside the package: the site's templates and the Blender worker.

In the repository they stay at the top level (`templates/`, `blender/`); pyproject.toml maps
those folders into the package as `sitegen.templates` and `sitegen.blender`, so that an
editable install and an installed wheel find them alike, through importlib.resources.
"""

from __future__ import annotations

import atexit
import contextlib
from importlib.resources import as_file, files
from pathlib import Path

# Files extracted to a temporary place (a package that is not a folder on disk) stay
# there until the process exits: a Blender worker may be started from one at any time.
_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)


def package_path(package: str, *names: str) -> Path:
    """A real path to a file or folder shipped in `package` (itself, for an installed one)."""
    return _extracted.enter_context(as_file(files(package).joinpath(*names)))
