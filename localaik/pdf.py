"""PDF -> PNG page images through poppler's pdftoppm (pdf2image), with page and DPI caps.

pdf2image and poppler errors are converted to BadRequest here, at this one boundary.
"""

from __future__ import annotations

import io

from localaik.errors import BadRequest, Unsupported


def render(data: bytes, *, max_pages: int, dpi: int, where: str) -> list[bytes]:
    """PNG bytes of every page, in order; 400 when the PDF is unreadable or over the cap."""
    try:
        from pdf2image import convert_from_bytes, pdfinfo_from_bytes
        from pdf2image.exceptions import (
            PDFInfoNotInstalledError,
            PDFPageCountError,
            PDFPopplerTimeoutError,
            PDFSyntaxError,
        )
    except ImportError:  # pragma: no cover - pdf2image is a dependency
        raise Unsupported(f"{where}: PDF input needs pdf2image") from None
    if not data.startswith(b"%PDF-"):
        raise BadRequest(f"{where}: the data is not a PDF (no %PDF- header)")
    try:
        info = pdfinfo_from_bytes(data, timeout=30)
        pages = int(info.get("Pages", 0))
        if pages < 1:
            raise BadRequest(f"{where}: the PDF has no pages")
        if pages > max_pages:
            raise BadRequest(f"{where}: the PDF has {pages} pages, more than LK_PDF_MAX_PAGES="
                             f"{max_pages}")
        images = convert_from_bytes(data, dpi=dpi, fmt="png", timeout=60)
    except PDFInfoNotInstalledError:
        raise Unsupported(f"{where}: PDF input needs poppler-utils (pdftoppm) installed") from None
    except (PDFPageCountError, PDFSyntaxError) as exc:
        raise BadRequest(f"{where}: the PDF cannot be read ({_first_line(exc)})") from None
    except PDFPopplerTimeoutError:
        raise BadRequest(f"{where}: rendering the PDF took too long") from None
    out = []
    for image in images:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
