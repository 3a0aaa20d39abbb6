"""Small PDFs made by the tests themselves: pages of chosen sizes, text, rotation, damage.

The writer emits a correct cross-reference table, so poppler reads the files without repairs.
Text uses Helvetica, one of the standard 14 fonts, which a PDF names but does not embed: it
renders only when the machine has a substitute font (fonts-liberation), as real PDFs need.
"""

from __future__ import annotations

import io
from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    width: int = 144  # points; 72 points are one inch
    height: int = 72
    text: str = ""
    rotate: int = 0


def make_pdf(*pages: Page) -> bytes:
    """A PDF of `pages`, in order (one blank 144 × 72 pt page when none is given)."""
    pages = pages or (Page(),)
    objects: list[bytes] = [b"", b""]  # 1: catalog, 2: page tree, filled in below
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")  # 3
    kids = []
    for page in pages:
        stream = b""
        if page.text:
            escaped = page.text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            stream = b"BT /F1 24 Tf 8 %d Td (%s) Tj ET" % (max(page.height // 2 - 8, 4),
                                                          escaped.encode("latin-1"))
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content = len(objects)
        rotate = b" /Rotate %d" % page.rotate if page.rotate else b""
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d]%s "
                       b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>"
                       % (page.width, page.height, rotate, content))
        kids.append(b"%d 0 R" % len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))

    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def encrypted(pdf: bytes, user_password: str = "secret") -> bytes:
    """`pdf` encrypted with a user password (RC4-128, as older tools write it)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def corrupt(pdf: bytes) -> bytes:
    """A PDF header with the body cut away: what a truncated download looks like."""
    return pdf[:40]
