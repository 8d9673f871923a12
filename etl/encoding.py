"""Decode, encode and detect the text encodings of Vietnamese cadastral files.

Old Vietnamese software wrote DBF and CSV text in 8-bit encodings Python has no codec for:
TCVN3 (TCVN 5712:1993 VN3, the "ABC" fonts .VnTime/.VnTimeH) and VNI-Windows (fonts
VNI-Times...), besides Windows-1258 and UTF-8. Every function here returns NFC text.

Sources of the tables (each entry agreed in at least two of them):

* UniKey's VnConv library, ``unikey/data.cpp`` (Pham Kim Long; copy in fcitx/fcitx5-unikey):
  TCVN3 single-byte table, VNI-WIN double-byte table, WinCP1258 tables, and the Windows
  symbols 0x80-0x9F that both legacy fonts keep from Windows-1252.
* XFree86 X-TrueType ``TCVN/TCVNtoUCS2.c`` (in apple-open-source/macos): full TCVN 5712 (VN1)
  to UCS-2 table, whose 0xA1-0xFE letters are the VN3 letters below.
* khiemdoan/VBKey ``Modules/mdlCodeTable.bas``: TCVN3 and VNI-Windows tables (134 letters).
* duydev/vietnamese-conversion ``src/charsets.ts``: TCVN3 (lowercase) and VNI tables.

TCVN3 (VN3) has codes for the 67 lowercase letters but for only seven capitals
(Ă Â Ê Ô Ơ Ư Đ). Typists wrote other capitals with the lowercase code in the .VnTimeH
capitals font, so the bytes do not say the case: ``decode`` returns those letters in
lowercase, and ``encode`` refuses them unless ``capitals_as_lowercase=True``. The capitals
that the full VN1 repertoire puts at 0x01-0x17, 0x80-0x9F and the VN3 holes are not
supported: 0x80-0x9F are the Windows-1252 symbols, as in the fonts, and the holes are
undefined.

VNI writes most letters as a base letter followed by a mark byte (``a`` + ``0xF9`` is á);
đ ơ ư and the toned i and ỵ are single bytes. Capital marks and capital single letters are
the lowercase byte minus 0x20 (``A`` + ``0xD9`` is Á). A mark is decoded to Unicode combining
characters and composed by NFC, so a capital base with a lowercase mark still decodes.
Bytes an encoding leaves undefined raise :class:`~landflood.errors.DataError`.
"""

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

from etl.report import shown
from landflood.errors import DataError

logger = logging.getLogger(__name__)

ENCODINGS = ("utf-8", "cp1258", "tcvn3", "vni")

_ALIASES = {
    "utf-8": "utf-8", "utf8": "utf-8",
    "cp1258": "cp1258", "windows-1258": "cp1258",
    "tcvn3": "tcvn3", "tcvn": "tcvn3", "abc": "tcvn3",
    "vni": "vni", "vni-windows": "vni", "vni-win": "vni",
}

_GRAVE, _HOOK, _TILDE, _ACUTE, _DOT = "\u0300", "\u0309", "\u0303", "\u0301", "\u0323"
_TONES = (_GRAVE, _HOOK, _TILDE, _ACUTE, _DOT)
_CIRCUMFLEX, _BREVE = "\u0302", "\u0306"

# The 134 Vietnamese letters outside ASCII: 12 vowels x (bare + 5 tones) - 6 ASCII + đ, both cases.
_LOWER = [
    unicodedata.normalize("NFC", vowel + tone)
    for vowel in "aăâeêioôơuưy"
    for tone in ("", *_TONES)
    if not (vowel + tone).isascii()
] + ["đ"]
_LETTERS = tuple(_LOWER + [c.upper() for c in _LOWER])

# TCVN3 (VN3): the i-th letter has the i-th byte. Tones in the order grave hook tilde acute dot.
_TCVN3_LETTERS = (
    "àảãáạ" "ăằẳẵắặ" "âầẩẫấậ" "đ" "èẻẽéẹ" "êềểễếệ" "ìỉĩíị" "òỏõóọ" "ôồổỗốộ" "ơờởỡớợ"
    "ùủũúụ" "ưừửữứự" "ỳỷỹýỵ" "ĂÂÊÔƠƯĐ"
)
_TCVN3_BYTES = bytes.fromhex(
    "b5 b6 b7 b8 b9  a8 bb bc bd be c6  a9 c7 c8 c9 ca cb  ae  cc ce cf d0 d1  aa d2 d3 d4 d5 d6"
    " d7 d8 dc dd de  df e1 e2 e3 e4  ab e5 e6 e7 e8 e9  ac ea eb ec ed ee"
    " ef f1 f2 f3 f4  ad f5 f6 f7 f8 f9  fa fb fc fd fe  a1 a2 a3 a4 a5 a6 a7"
)

# VNI-Windows: lowercase mark bytes after a base letter (capital mark = byte - 0x20) ...
_VNI_MARK_BYTES = bytes.fromhex("f8 fb f5 f9 ef  e2 e0 e5 e3 e1 e4  ea e8 fa fc e9 eb")
_VNI_MARKS = [*_TONES, _CIRCUMFLEX, *(_CIRCUMFLEX + t for t in _TONES),
              _BREVE, *(_BREVE + t for t in _TONES)]
# ... and single-byte lowercase letters (capital = byte - 0x20).
_VNI_SINGLE_LETTERS = "đơưìỉĩíịỵ"
_VNI_SINGLE_BYTES = bytes.fromhex("f1 f4 f6 ec e6 f3 ed f2 ee")


def _base_table(codec: str) -> dict[int, str]:
    """Byte -> character for the bytes ``codec`` defines (ASCII and 0x80-0xFF)."""
    table = {}
    for b in range(256):
        try:
            table[b] = bytes([b]).decode(codec)
        except UnicodeDecodeError:
            pass
    return table


def _build_tables() -> tuple[dict[str, dict[int, str]], dict[str, dict[str, bytes]]]:
    cp1252 = _base_table("cp1252")
    cp1258 = _base_table("cp1258")
    tcvn3 = {b: c for b, c in cp1252.items() if b < 0xA0}
    tcvn3.update(zip(_TCVN3_BYTES, _TCVN3_LETTERS, strict=True))
    vni = {b: c for b, c in cp1252.items() if b < 0xC0}
    vni_marks = {}
    for byte, marks in zip(_VNI_MARK_BYTES, _VNI_MARKS, strict=True):
        vni[byte] = vni[byte - 0x20] = marks
        vni_marks[marks, False], vni_marks[marks, True] = byte, byte - 0x20
    for byte, letter in zip(_VNI_SINGLE_BYTES, _VNI_SINGLE_LETTERS, strict=True):
        vni[byte], vni[byte - 0x20] = letter, letter.upper()
    cp1258_marks = {(t, cap): ord(t.encode("cp1258")) for t in _TONES for cap in (False, True)}
    decoding = {"cp1258": cp1258, "tcvn3": tcvn3, "vni": vni}
    mark_codes = {"cp1258": cp1258_marks, "tcvn3": {}, "vni": vni_marks}
    encoding = {}
    for name, table in decoding.items():
        single = {c: bytes([b]) for b, c in table.items() if len(c) == 1 and not unicodedata.combining(c)}
        encoding[name] = dict(single)
        for letter in _LETTERS:
            if letter not in single and mark_codes[name]:
                encoding[name][letter] = _compose(letter, single, mark_codes[name])
    return decoding, encoding


def _compose(letter: str, single: dict[str, bytes], mark_codes: dict[tuple[str, bool], int]) -> bytes:
    """Bytes of ``letter`` as a base letter plus one mark byte (cp1258: a tone; VNI: any mark)."""
    nfd = unicodedata.normalize("NFD", letter)
    marks = "".join(c for c in nfd if c in _TONES)
    base = unicodedata.normalize("NFC", "".join(c for c in nfd if c not in _TONES))
    if base not in single:  # VNI writes â ă ê ô as a base letter and a mark as well
        parts = unicodedata.normalize("NFD", base)
        base, marks = parts[0], parts[1:] + marks
    return single[base] + bytes([mark_codes[marks, letter.isupper()]])


_DECODE, _ENCODE = _build_tables()
_UNDEFINED = {
    name: re.compile(f"[{''.join(chr(b) for b in range(256) if b not in table)}]")
    for name, table in _DECODE.items()
}


def _canonical(encoding: str) -> str:
    name = _ALIASES.get(encoding.strip().lower().replace("_", "-"))
    if name is None:
        raise DataError(
            f"Unknown encoding {shown(encoding)}: use one of {', '.join(ENCODINGS)} "
            "(the same names the --encoding option takes)."
        )
    return name


def decode(raw: bytes, encoding: str) -> str:
    """Decode ``raw`` bytes in ``encoding`` (one of :data:`ENCODINGS`) to NFC text."""
    name = _canonical(encoding)
    if name == "utf-8":
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(
                f"Bytes {raw[exc.start:exc.end]!r} at offset {exc.start} of {shown(raw, 40)} are not "
                "UTF-8: the file is probably in a legacy Vietnamese encoding; pass --encoding "
                "cp1258, tcvn3 or vni, or let the loader detect it."
            ) from exc
    else:
        text = raw.decode("latin-1")
        if undefined := _UNDEFINED[name].search(text):
            bad = undefined.start()
            raise DataError(
                f"Byte 0x{raw[bad]:02X} at offset {bad} of {shown(raw, 40)} is not defined in "
                f"{name}: the text is probably in another encoding; pass --encoding with one "
                f"of {', '.join(n for n in ENCODINGS if n != name)}."
            )
        text = text.translate(_DECODE[name])
    return unicodedata.normalize("NFC", text)


def encode(text: str, encoding: str, *, capitals_as_lowercase: bool = False) -> bytes:
    """Encode ``text`` to bytes in ``encoding`` (one of :data:`ENCODINGS`).

    TCVN3 has no codes for capitals such as Ễ or Á; with ``capitals_as_lowercase`` they are
    written with the lowercase code, as typists using the .VnTimeH font did, otherwise they
    raise :class:`DataError` like any character the encoding cannot represent.
    """
    name = _canonical(encoding)
    text = unicodedata.normalize("NFC", text)
    if name == "utf-8":
        return text.encode("utf-8")
    table = _ENCODE[name]
    out = bytearray()
    for i, char in enumerate(text):
        code = table.get(char)
        if code is None and capitals_as_lowercase and name == "tcvn3":
            code = table.get(char.lower())
        if code is None:
            hint = " (pass capitals_as_lowercase=True to write it as .VnTimeH text)" if (
                name == "tcvn3" and char.lower() in table) else ""
            raise DataError(f"{char!r} at offset {i} of {shown(text, 40)} cannot be written in {name}{hint}.")
        out += code
    return bytes(out)


def fix_mojibake(text: str, encoding: str) -> str:
    """Repair ``text`` that a reader decoded as Latin-1 or Windows-1252 from ``encoding`` bytes."""
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        out = bytearray()
        for char in text:
            try:
                out += char.encode("latin-1") if ord(char) < 256 else char.encode("cp1252")
            except UnicodeEncodeError as exc:
                raise DataError(
                    f"{char!r} in {shown(text, 40)} cannot come from a Latin-1 or Windows-1252 reading: "
                    "the text is not mojibake; read the file again with --encoding."
                ) from exc
        raw = bytes(out)
    return decode(raw, encoding)


# --- Detection --------------------------------------------------------------------------------

_SYLLABLE = re.compile(
    r"(ngh|ng|gh|gi|kh|nh|ph|th|tr|ch|qu|[bcdđghklmnprstvx])?"
    r"(iêu|yêu|oai|oao|oay|oeo|uây|uôi|uya|uyê|uyu|ươi|ươu"
    r"|ai|ao|au|ay|âu|ây|eo|êu|ia|iu|iê|oa|oă|oe|oi|ôi|ơi|ua|uâ|uê|ui|uô|uơ|uy"
    r"|ưa|ưi|ươ|ưu|yê|[aăâeêioôơuưy])"
    r"(ch|ng|nh|[cmnpt])?"
)
# Nuclei ending in a glide take no final consonant; these others need one.
_OPEN_ONLY = frozenset(
    "iêu yêu oai oao oay oeo uây uôi uya uyu ươi ươu ai ao au ay âu ây eo êu ia iu oi ôi ơi "
    "ua ui uơ ưa ưi ưu".split()
)
_CLOSED_ONLY = frozenset("ă â iê yê oă uâ uô ươ uyê".split())
_TOKEN = re.compile(rb"[A-Za-z\x80-\xff]*[\x80-\xff][A-Za-z\x80-\xff]*")


def _tone_slots(nucleus: str, closed: bool) -> set[int]:
    """Positions in ``nucleus`` where the tone mark may stand (old and new style)."""
    modified = [i for i, c in enumerate(nucleus) if c in "ăâêôơư"]
    if modified:
        return {modified[-1]}
    if len(nucleus) == 1:
        return {0}
    if len(nucleus) == 3 or closed:
        return {1}
    return {0, 1} if nucleus in ("oa", "oe", "uy") else {0}


def _is_syllable(word: str) -> bool:
    """Whether ``word`` is spelled like a Vietnamese syllable: letters, one tone, placed right."""
    bare, tone, at = [], None, -1
    for i, char in enumerate(unicodedata.normalize("NFC", word.lower())):
        nfd = unicodedata.normalize("NFD", char)
        marks = [c for c in nfd if c in _TONES]
        letter = unicodedata.normalize("NFC", "".join(c for c in nfd if c not in _TONES))
        if len(letter) != 1 or len(marks) > 1 or (marks and tone):
            return False
        if marks:
            tone, at = marks[0], i
        bare.append(letter)
    match = _SYLLABLE.fullmatch("".join(bare))
    if match is None:
        return False
    start = match.start(2)
    nucleus, final = match.group(2), match.group(3)
    if nucleus in (_CLOSED_ONLY if final is None else _OPEN_ONLY):
        return False
    if final in ("ch", "nh") and nucleus[-1] not in "aêiy":
        return False
    if final in ("c", "ng") and nucleus in ("ê", "i", "y", "uê", "uy") and match.group(1) != "gi":
        return False  # but giếng, tháng giêng: gi + iê
    if tone is None:
        return True
    if final in ("c", "ch", "p", "t") and tone not in (_ACUTE, _DOT):
        return False
    return at - start in _tone_slots(nucleus, final is not None)


# TCVN3 writes these in capitals too (.VnTimeH), so their case says nothing.
_TCVN3_CASELESS = frozenset(c for c in _TCVN3_LETTERS if c.upper() not in _TCVN3_LETTERS)


def _plausible(token: bytes, encoding: str) -> float | None:
    """Rarity of the tone if ``token`` decodes to a syllable in lower, Title or UPPER case."""
    try:
        word = decode(token, encoding)
    except DataError:
        return None
    cased = [c for c in word[1:] if c not in _TCVN3_CASELESS] if encoding == "tcvn3" else word[1:]
    upper = [c.isupper() for c in cased]
    if any(upper) and not (all(upper) and word[0].isupper()):
        return None
    if not _is_syllable(word):
        return None
    tones = [c for c in unicodedata.normalize("NFD", word) if c in _TONES]
    return _TONE_RARITY[tones[0]] if tones else 0.0


# Rough order of tone frequency in Vietnamese text (none, then grave/acute, dot, hook, tilde),
# used only to break ties between equally well-formed readings of short samples.
_TONE_RARITY = {_GRAVE: 1.0, _ACUTE: 1.0, _DOT: 1.2, _HOOK: 1.5, _TILDE: 2.0}
_PREFERENCE = ("tcvn3", "vni", "cp1258", "utf-8")


def detect(samples: Iterable[bytes]) -> str:
    """Return the most likely of :data:`ENCODINGS` for raw text values of one file.

    ASCII or valid UTF-8 gives "utf-8". Otherwise every word with a non-ASCII byte is decoded
    with each candidate, and the candidate under which most words are well-formed Vietnamese
    syllables wins. Ties go to the reading with the more common tones, then to TCVN3, VNI and
    cp1258 in that order. Logs a warning when no reading looks like Vietnamese.
    """
    tokens: Counter[bytes] = Counter()
    utf8 = True
    for raw in samples:
        if raw.isascii():
            continue
        tokens.update(_TOKEN.findall(raw))
        if utf8:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                utf8 = False
    if not tokens or utf8:
        return "utf-8"
    total = sum(tokens.values())
    scores = {}
    for name in _PREFERENCE:
        rarities = [(n, r) for token, n in tokens.items() if (r := _plausible(token, name)) is not None]
        valid = sum(n for n, _ in rarities)
        scores[name] = (valid / total, -sum(n * r for n, r in rarities) / max(valid, 1))
    best = max(_PREFERENCE, key=scores.__getitem__)
    logger.debug("encoding scores %s over %d words", scores, total)
    if scores[best][0] < 0.5:
        logger.warning(
            "Text does not look like Vietnamese in any known encoding (best %s, %.0f%% of %d "
            "words); pass --encoding to choose one.", best, 100 * scores[best][0], total,
        )
    return best
