"""Optional PDF copies of the Word documents, through LibreOffice when it is installed.

Each worker converts its share of the files in one ``soffice`` call with its own user
profile (two LibreOffice processes sharing a profile block each other), under a timeout.
Without LibreOffice nothing fails: the run says that PDFs were skipped and why.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..i18n import Text, msg
from .batch import chunks, default_workers


@dataclass
class PdfResult:
    created: int = 0
    skipped: Text | None = None  # why no PDFs were made (a message: the CLI shows it in its language)
    failed: list[str] = field(default_factory=list)


def find_office() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def export_pdfs(documents: list[Path], workers: int | None = None, seconds_per_file: float = 20.0) -> PdfResult:
    office = find_office()
    if office is None:
        return PdfResult(skipped=msg("pdf.no_office"))
    if not documents:
        return PdfResult()
    groups = chunks(documents, workers or default_workers())
    with ThreadPoolExecutor(max_workers=len(groups)) as pool:
        results = list(pool.map(lambda group: _convert(office, group, seconds_per_file), groups))
    return PdfResult(created=sum(r.created for r in results), failed=[f for r in results for f in r.failed])


def _convert(office: str, group: list[Path], seconds_per_file: float) -> PdfResult:
    result = PdfResult()
    with tempfile.TemporaryDirectory(prefix="kamrules-office-") as profile:
        for folder in sorted({p.parent for p in group}):
            files = [p for p in group if p.parent == folder]
            command = [office, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
                       "--convert-to", "pdf", "--outdir", str(folder), *map(str, files)]
            try:
                subprocess.run(command, capture_output=True, timeout=30 + seconds_per_file * len(files), check=False)
            except subprocess.TimeoutExpired:
                result.failed += [p.name for p in files if not p.with_suffix(".pdf").exists()]
                continue
            for path in files:
                if path.with_suffix(".pdf").exists():
                    result.created += 1
                else:
                    result.failed.append(path.name)
    return result
