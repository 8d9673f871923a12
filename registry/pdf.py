"""PDF from the documents' HTML (WeasyPrint, with the DejaVu fonts embedded) and verification QR
codes as inline SVG (segno). Nothing here reaches the internet: fonts come from the disk and the
HTML refers to nothing outside itself."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from landflood.errors import ConfigError

#: Where distributions put the DejaVu fonts (Debian and Ubuntu: fonts-dejavu-core; Fedora).
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"),
             Path("/usr/share/fonts/dejavu-sans-fonts"))
#: The faces the documents use: (CSS family, weight, file). fonts-dejavu-core has exactly these.
FACES = (("DejaVu Serif", "normal", "DejaVuSerif.ttf"), ("DejaVu Serif", "bold", "DejaVuSerif-Bold.ttf"),
         ("DejaVu Sans", "normal", "DejaVuSans.ttf"), ("DejaVu Sans", "bold", "DejaVuSans-Bold.ttf"))


@cache
def font_css() -> str:
    """@font-face rules naming the DejaVu files on this machine (for the PDF only: a browser
    reading the HTML preview is never told a path of the server)."""
    rules = []
    for family, weight, name in FACES:
        path = next((d / name for d in FONT_DIRS if (d / name).is_file()), None)
        if path is None:
            raise ConfigError(f"the font {name} (DejaVu, which the registry's PDFs embed) is not installed in "
                              f"{' or '.join(map(str, FONT_DIRS))}; run `make setup` (it installs fonts-dejavu-core)")
        rules.append(f"@font-face {{ font-family: '{family}'; font-weight: {weight}; font-style: normal; "
                     f"src: url('{path.as_uri()}'); }}")
    return "\n".join(rules)


def write_pdf(html: str) -> bytes:
    """The PDF of a document's HTML, its fonts embedded."""
    from weasyprint import CSS, HTML  # heavy (Pango): only when a PDF is made
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    css = CSS(string=font_css(), font_config=fonts)
    # base_url: the HTML has no relative links; the fonts are absolute file URLs.
    return bytes(HTML(string=html, base_url=str(Path(__file__).parent)).write_pdf(stylesheets=[css],
                                                                              font_config=fonts))


def qr_svg(url: str) -> str:
    """A QR code of ``url`` as an inline SVG element, 28 mm wide."""
    import segno

    qr = segno.make(url, error="m")
    size = qr.symbol_size(border=2)[0]
    svg = qr.svg_inline(border=2, svgclass="qr", lineclass=None, unit="mm", scale=1)
    # segno sizes it one millimetre a module; the view box keeps the modules, the page wants 28 mm.
    return svg.replace(f'width="{size}mm" height="{size}mm"', 'width="28mm" height="28mm"', 1)
