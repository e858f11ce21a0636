"""Pictures in documents: the company's logo and the charts, as template values.

A context value that is a :class:`Picture` (bytes of a PNG or JPEG and a size) or a
:class:`ChartRequest` (the data of a chart, drawn only when the template shows it, in the
process that renders the document) becomes a docxtpl ``InlineImage`` when the document is
rendered: ``{{ company.logo }}`` on the cover, ``{{ company.logo_small }}`` in the header,
``{{ revenue_chart }}`` beside the monthly table. Both are plain data, so they travel to the
worker processes with the rest of the context.

The logo is the project's own file (``company.logo`` in rules/documents.yaml, a path inside the
project): a regular file (see :mod:`kamrules.files`), at most :data:`LOGO_LIMIT` bytes, whose
first bytes say PNG or JPEG; anything else is refused by ``check`` and by the run, naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RenderError
from ..i18n import msg
from ..files import RefusedFile, read_regular

LOGO_LIMIT = 2 << 20  # 2 MiB: a logo, not a photograph
_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "png", b"\xff\xd8\xff": "jpeg"}


@dataclass(frozen=True)
class Picture:
    """An image to place inline: ``width_mm`` or ``height_mm`` (the other follows the aspect)."""

    data: bytes
    width_mm: float | None = None
    height_mm: float | None = None

    def __bool__(self) -> bool:  # {% if company.logo %}
        return bool(self.data)


@dataclass(frozen=True)
class ChartRequest:
    """A chart of the customer's monthly revenue, drawn when a template shows it."""

    monthly: tuple
    lang: str
    currency: str
    brand_color: str
    width_mm: float = 160

    def __bool__(self) -> bool:
        return any((m.get("revenue") or 0) or (m.get("revenue_prev_year") or 0) for m in self.monthly)


def image_kind(data: bytes) -> str | None:
    """``png`` or ``jpeg`` by the file's first bytes; None for anything else."""
    return next((kind for signature, kind in _SIGNATURES.items() if data.startswith(signature)), None)


def load_logo(project: Path, relative: str) -> bytes:
    """The bytes of the company's logo, checked (see the module's description)."""
    display = relative
    try:
        data = read_regular(project / relative, project, LOGO_LIMIT)
    except RefusedFile as exc:
        if exc.reason == "too_big":
            raise RenderError(msg("company.logo.too_big", size=exc.size or 0, limit=LOGO_LIMIT), template=display,
                              suggestion=msg("company.logo.hint")) from None
        reason = exc.detail if exc.reason == "unreadable" else exc.words
        raise RenderError(msg("company.logo.unreadable", reason=reason), template=display,
                          suggestion=msg("company.logo.hint")) from None
    if image_kind(data) is None:
        raise RenderError(msg("company.logo.kind"), template=display, suggestion=msg("company.logo.hint"))
    return data


def inline_pictures(value: Any, template, chart_maker) -> Any:
    """``value`` with every Picture and ChartRequest (at the top level, or one level down in a
    dict such as ``company``) turned into an InlineImage of ``template``."""
    if isinstance(value, Picture):
        return _inline(template, value)
    if isinstance(value, ChartRequest):
        picture = chart_maker(value)
        return _inline(template, picture) if picture else ""
    if isinstance(value, dict):
        return {key: inline_pictures(item, template, chart_maker) if isinstance(item, (Picture, ChartRequest))
                else item for key, item in value.items()}
    return value


def _inline(template, picture: Picture):
    import io

    from docx.shared import Mm
    from docxtpl import InlineImage

    return InlineImage(template, io.BytesIO(picture.data),
                       width=Mm(picture.width_mm) if picture.width_mm else None,
                       height=Mm(picture.height_mm) if picture.height_mm else None)
