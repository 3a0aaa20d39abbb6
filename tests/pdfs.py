"""Small PDFs made by the tests themselves: pages of chosen sizes, text, rotation, damage.

`localaik.pdf.assemble` writes a correct cross-reference table, so poppler reads the files
without repairs.
Text uses Helvetica, one of the standard 14 fonts, which a PDF names but does not embed: it
renders only when the machine has a substitute font (fonts-liberation), as real PDFs need.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from localaik.media import pdf


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
            stream = b"BT /F1 24 Tf 8 %d Td (%s) Tj ET" % (
                max(page.height // 2 - 8, 4),
                escaped.encode("latin-1"),
            )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        content = len(objects)
        rotate = b" /Rotate %d" % page.rotate if page.rotate else b""
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d]%s "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>"
            % (page.width, page.height, rotate, content)
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    return pdf.assemble(objects)


def encrypted(data: bytes, user_password: str = "secret") -> bytes:
    """`data` encrypted with a user password (RC4-128, as older tools write it)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def corrupt(data: bytes) -> bytes:
    """A PDF header with the body cut away: what a truncated download looks like."""
    return data[:40]
