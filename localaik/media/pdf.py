"""PDF -> PNG page images through poppler's pdftoppm (pdf2image), with page, DPI and size caps.

    pdfinfo     page count (over LK_PDF_MAX_PAGES: 400) and each page's size
    pdftoppm    every page at LK_PDF_DPI, in order; a page whose longest side would pass
                MAX_SIDE_PX renders at the DPI that fits it (a poster stays readable, and a
                200-inch page cannot take gigabytes)

pdf2image and poppler errors are converted to BadRequest here, at this one boundary, with the
reason poppler gave (encrypted, no pages, damaged) rather than pdf2image's "Unable to get page
count".
"""

from __future__ import annotations

import io
import re

from localaik.errors import BadRequest, Error, Unsupported

MAX_SIDE_PX = 4096
INFO_TIMEOUT = 30
RENDER_TIMEOUT = 60

_PAGE_SIZE = re.compile(r"([\d.]+) x ([\d.]+) pts")


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
        info = pdfinfo_from_bytes(data, timeout=INFO_TIMEOUT, first_page=1, last_page=max_pages)
        pages = int(info.get("Pages", 0))
        if pages < 1:
            raise BadRequest(f"{where}: the PDF has no pages")
        if pages > max_pages:
            raise BadRequest(
                f"{where}: the PDF has {pages} pages, more than LK_PDF_MAX_PAGES={max_pages}"
            )
        images = []
        for first, last, page_dpi in page_runs(info, pages, dpi):
            images += convert_from_bytes(
                data,
                dpi=page_dpi,
                fmt="png",
                first_page=first,
                last_page=last,
                timeout=RENDER_TIMEOUT,
            )
    except PDFInfoNotInstalledError:
        raise Unsupported(
            f"{where}: PDF input needs poppler-utils (pdftoppm) installed; "
            "`localaik doctor` checks it"
        ) from None
    except (PDFPageCountError, PDFSyntaxError) as exc:
        raise BadRequest(f"{where}: {_reason(str(exc))}") from None
    except PDFPopplerTimeoutError:
        raise BadRequest(f"{where}: rendering the PDF took too long") from None
    out = []
    for image in images:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


def page_runs(info: dict[str, object], pages: int, dpi: int) -> list[tuple[int, int, int]]:
    """(first, last, dpi) runs of consecutive pages that render at the same DPI."""
    runs: list[tuple[int, int, int]] = []
    for page in range(1, pages + 1):
        page_dpi = dpi
        size = _PAGE_SIZE.match(str(info.get(f"Page {page:4d} size", "")))
        if size:
            longest = max(float(size.group(1)), float(size.group(2)))
            if longest * dpi / 72 > MAX_SIDE_PX:
                page_dpi = max(1, int(MAX_SIDE_PX * 72 / longest))
        if runs and runs[-1][2] == page_dpi and runs[-1][1] == page - 1:
            runs[-1] = (runs[-1][0], page, page_dpi)
        else:
            runs.append((page, page, page_dpi))
    return runs


def assemble(objects: list[bytes]) -> bytes:
    """A PDF of numbered `objects` (1 is the catalog), with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def probe() -> str | None:
    """Render one line of Helvetica (a standard-14 font, named and not embedded, as in most
    PDFs): None when it shows, else what went wrong. `localaik doctor` asks this."""
    text = b"BT /F1 24 Tf 8 24 Td (localaik) Tj ET"
    data = assemble(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 144 72] /Resources << /Font << /F1 4 0 R"
            b" >> >> /Contents 5 0 R >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        ]
    )
    try:
        (page,) = render(data, max_pages=1, dpi=72, where="probe")
    except Error as exc:
        return exc.message.removeprefix("probe: ")
    from PIL import Image

    if not sum(Image.open(io.BytesIO(page)).convert("L").histogram()[:128]):
        return "text in the standard PDF fonts does not show: install fonts-liberation"
    return None


def _reason(stderr: str) -> str:
    """Why poppler could not read a PDF, in words a user can act on."""
    if "Incorrect password" in stderr:
        return (
            "the PDF is encrypted with a password, which localaik cannot open; send it "
            "without the password"
        )
    if "Invalid page count 0" in stderr or "Wrong page range" in stderr:
        return "the PDF has no pages"
    errors = [
        line.split(":", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith(("Syntax Error:", "Internal Error:", "I/O Error:"))
    ]
    detail = f" (poppler: {errors[-1][:200]})" if errors else ""
    return f"the PDF cannot be read: it is damaged or truncated{detail}"
