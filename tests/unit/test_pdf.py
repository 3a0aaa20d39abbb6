"""PDF rendering with the real poppler (pdfinfo, pdftoppm), on PDFs the tests make themselves."""

from __future__ import annotations

import io
import shutil

import pytest
from PIL import Image

from localaik.errors import BadRequest
from localaik.media import pdf
from tests.pdfs import Page, corrupt, encrypted, make_pdf

pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or shutil.which("pdfinfo") is None,
    reason="poppler-utils is not installed (make system-deps)",
)


def render(data: bytes, max_pages: int = 20, dpi: int = 100) -> list[Image.Image]:
    return [
        Image.open(io.BytesIO(png))
        for png in pdf.render(data, max_pages=max_pages, dpi=dpi, where="contents[0].parts[1]")
    ]


def refusal(data: bytes, max_pages: int = 20) -> str:
    with pytest.raises(BadRequest) as caught:
        render(data, max_pages)
    assert caught.value.status == 400
    assert caught.value.message.startswith("contents[0].parts[1]: ")
    return caught.value.message.split(": ", 1)[1]


def dark_pixels(image: Image.Image) -> int:
    return sum(image.convert("L").histogram()[:128])


def test_one_page_at_the_configured_dpi() -> None:
    (page,) = render(make_pdf(Page(144, 72)))
    assert page.format == "PNG"
    assert page.size == (200, 100)  # 2 × 1 inches at 100 DPI
    (sharper,) = render(make_pdf(Page(144, 72)), dpi=150)
    assert sharper.size == (300, 150)


def test_pages_come_in_order() -> None:
    pages = render(make_pdf(Page(72, 72), Page(144, 72), Page(216, 72), Page(288, 72)))
    assert [page.size[0] for page in pages] == [100, 200, 300, 400]


def test_standard_fonts_render() -> None:
    # Helvetica is named, not embedded: it renders only when a substitute font is installed.
    (blank,) = render(make_pdf(Page(288, 72)))
    (text,) = render(make_pdf(Page(288, 72, text="Hello, PDF")))
    assert dark_pixels(blank) == 0
    assert dark_pixels(text) > 300


def test_a_rotated_page_renders_upright() -> None:
    (page,) = render(make_pdf(Page(144, 72, text="up", rotate=90)))
    assert page.size == (100, 200)


def test_a_huge_page_renders_within_the_size_cap() -> None:
    pages = render(make_pdf(Page(72, 72), Page(14400, 7200), Page(72, 72)))
    assert pages[0].size == pages[2].size == (100, 100)
    assert max(pages[1].size) <= pdf.MAX_SIDE_PX
    assert pages[1].size[0] == 2 * pages[1].size[1]


def test_over_the_page_cap() -> None:
    assert (
        refusal(make_pdf(*[Page()] * 3), max_pages=2)
        == "the PDF has 3 pages, more than LK_PDF_MAX_PAGES=2"
    )
    assert len(render(make_pdf(*[Page()] * 2), max_pages=2)) == 2


def test_corrupt() -> None:
    assert refusal(corrupt(make_pdf())).startswith(
        "the PDF cannot be read: it is damaged or truncated (poppler: "
    )


def test_encrypted_with_a_password() -> None:
    assert refusal(encrypted(make_pdf(Page(text="secret")))) == (
        "the PDF is encrypted with a password, which localaik cannot open; send it without "
        "the password"
    )


def test_encrypted_without_a_user_password_opens() -> None:
    # Owner-password-only PDFs (printing or copying restricted) open for anyone, as in readers.
    (page,) = render(encrypted(make_pdf(Page(text="open")), user_password=""))
    assert page.size == (200, 100)


def test_a_pdf_without_pages() -> None:
    assert (
        refusal(
            b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj 2 0 obj << "
            b"/Type /Pages /Kids [] /Count 0 >> endobj trailer << /Root 1 0 R >>\n%%EOF"
        )
        == "the PDF has no pages"
    )


def test_a_header_and_nothing_else() -> None:
    assert refusal(b"%PDF-1.4\n%%EOF\n") == (
        "the PDF cannot be read: it is damaged or truncated (poppler: Couldn't read xref table)"
    )


def test_not_a_pdf() -> None:
    assert refusal(b"GIF89a...") == "the data is not a PDF (no %PDF- header)"


@pytest.mark.parametrize(
    ("pages", "runs"),
    [
        ({1: "612 x 792 pts (letter)", 2: "612 x 792 pts (letter)"}, [(1, 2, 100)]),
        (
            {1: "72 x 72 pts", 2: "14400 x 7200 pts", 3: "72 x 72 pts"},
            [(1, 1, 100), (2, 2, 20), (3, 3, 100)],
        ),
        ({1: "14400 x 7200 pts", 2: "14400 x 7200 pts"}, [(1, 2, 20)]),
        ({}, [(1, 2, 100)]),
    ],
    ids=["letter", "poster-between", "posters", "sizes-unknown"],
)
def test_page_runs(pages: dict[int, str], runs: list[tuple[int, int, int]]) -> None:
    info = {f"Page {number:4d} size": size for number, size in pages.items()}
    assert pdf.page_runs(info, 2 if not pages else len(pages), 100) == runs
