"""Reading a template file: a regular file inside the project, of at most 512 MiB (the default input
limit; lowering ``KAMRULES_MAX_INPUT_BYTES`` for spreadsheets does not refuse templates)."""

from __future__ import annotations

from pathlib import Path

from ..errors import RenderError
from ..files import RefusedFile, read_regular
from ..i18n import Text, msg
from ..limits import Limits

TEMPLATE_LIMIT = Limits().max_input_bytes


def read_template(template: Path, display: str, root: Path | None, hint: Text | None = None,
                  limit: int = TEMPLATE_LIMIT) -> bytes:
    """The bytes of a template (or another file a document uses, such as the logo: see
    :mod:`kamrules.files`), or a RenderError saying why not."""
    try:
        return read_regular(template, root if root is not None else template.parent, limit)
    except RefusedFile as exc:
        if exc.reason == "unreadable":  # missing, or denied: the template's name is the likely fix
            raise RenderError(msg("render.unreadable", reason=exc.detail), template=display, suggestion=hint) from None
        raise RenderError(msg("render.unreadable", reason=exc.words), template=display,
                          suggestion=msg("file.refused.hint")) from None
