"""Tests of etl.encoding against byte tables copied from independent public converters.

Expected bytes come from the sources, not from the module's own tables:
* UniKey VnConv ``data.cpp`` (fcitx5-unikey): VNI-WIN and WinCP1258Pre tables, written there as
  16-bit words whose low byte is the base letter and high byte the mark.
* XFree86 X-TrueType ``TCVNtoUCS2.c``: TCVN 5712 (VN1) byte -> code point, 0xA0-0xFF.
* duydev/vietnamese-conversion README and a TCVN3 converter example ("B¶o Th¾ng").
"""

import logging
import unicodedata

import pytest

from etl.encoding import ENCODINGS, decode, detect, encode, fix_mojibake
from landflood.errors import DataError

LOWER = (
    "àảãáạăằẳẵắặâầẩẫấậđèẻẽéẹêềểễếệìỉĩíịòỏõóọôồổỗốộơờởỡớợùủũúụưừửữứựỳỷỹýỵ"
)
LETTERS = LOWER + LOWER.upper()

# UniKey order per vowel: capital, small; bare, acute, grave, hook, tilde, dot.
UNIKEY_ORDER = (
    "AaÁáÀàẢảÃãẠạ ÂâẤấẦầẨẩẪẫẬậ ĂăẮắẰằẲẳẴẵẶặ Đđ EeÉéÈèẺẻẼẽẸẹ ÊêẾếỀềỂểỄễỆệ IiÍíÌìỈỉĨĩỊị "
    "OoÓóÒòỎỏÕõỌọ ÔôỐốỒồỔổỖỗỘộ ƠơỚớỜờỞởỠỡỢợ UuÚúÙùỦủŨũỤụ ƯưỨứỪừỬửỮữỰự YyÝýỲỳỶỷỸỹỴỵ"
).replace(" ", "")
UNIKEY_VNI_WIN = """
0041 0061 d941 f961 d841 f861 db41 fb61 d541 f561 cf41 ef61
c241 e261 c141 e161 c041 e061 c541 e561 c341 e361 c441 e461
ca41 ea61 c941 e961 c841 e861 da41 fa61 dc41 fc61 cb41 eb61
00d1 00f1
0045 0065 d945 f965 d845 f865 db45 fb65 d545 f565 cf45 ef65
c245 e265 c145 e165 c045 e065 c545 e565 c345 e365 c445 e465
0049 0069 00cd 00ed 00cc 00ec 00c6 00e6 00d3 00f3 00d2 00f2
004f 006f d94f f96f d84f f86f db4f fb6f d54f f56f cf4f ef6f
c24f e26f c14f e16f c04f e06f c54f e56f c34f e36f c44f e46f
00d4 00f4 d9d4 f9f4 d8d4 f8f4 dbd4 fbf4 d5d4 f5f4 cfd4 eff4
0055 0075 d955 f975 d855 f875 db55 fb75 d555 f575 cf55 ef75
00d6 00f6 d9d6 f9f6 d8d6 f8f6 dbd6 fbf6 d5d6 f5f6 cfd6 eff6
0059 0079 d959 f979 d859 f879 db59 fb79 d559 f579 00ce 00ee
"""
UNIKEY_CP1258_PRE = """
0041 0061 00c1 00e1 00c0 00e0 d241 d261 de41 de61 f241 f261
00c2 00e2 ecc2 ece2 ccc2 cce2 d2c2 d2e2 dec2 dee2 f2c2 f2e2
00c3 00e3 ecc3 ece3 ccc3 cce3 d2c3 d2e3 dec3 dee3 f2c3 f2e3
00d0 00f0
0045 0065 00c9 00e9 00c8 00e8 d245 d265 de45 de65 f245 f265
00ca 00ea ecca ecea ccca ccea d2ca d2ea deca deea f2ca f2ea
0049 0069 00cd 00ed cc49 cc69 d249 d269 de49 de69 f249 f269
004f 006f 00d3 00f3 cc4f cc6f d24f d26f de4f de6f f24f f26f
00d4 00f4 ecd4 ecf4 ccd4 ccf4 d2d4 d2f4 ded4 def4 f2d4 f2f4
00d5 00f5 ecd5 ecf5 ccd5 ccf5 d2d5 d2f5 ded5 def5 f2d5 f2f5
0055 0075 00da 00fa 00d9 00f9 d255 d275 de55 de75 f255 f275
00dd 00fd ecdd ecfd ccdd ccfd d2dd d2fd dedd defd f2dd f2fd
0059 0079 ec59 ec79 cc59 cc79 d259 d279 de59 de79 f259 f279
"""
# X11 TCVNtoUCS2.c, bytes 0xA0-0xFF (0xA0 is unassigned there).
X11_TCVN_A0_FF = """
0000 0102 00c2 00ca 00d4 01a0 01af 0110 0103 00e2 00ea 00f4 01a1 01b0 0111 1eb0
0300 0309 0303 0301 0323 00e0 1ea3 00e3 00e1 1ea1 1eb2 1eb1 1eb3 1eb5 1eaf 1eb4
1eae 1ea6 1ea8 1eaa 1ea4 1ec0 1eb7 1ea7 1ea9 1eab 1ea5 1ead 00e8 1ec2 1ebb 1ebd
00e9 1eb9 1ec1 1ec3 1ec5 1ebf 1ec7 00ec 1ec9 1ec4 1ebe 1ed2 0129 00ed 1ecb 00f2
1ed4 1ecf 00f5 00f3 1ecd 1ed3 1ed5 1ed7 1ed1 1ed9 1edd 1edf 1ee1 1edb 1ee3 00f9
1ed6 1ee7 0169 00fa 1ee5 1eeb 1eed 1eef 1ee9 1ef1 1ef3 1ef7 1ef9 00fd 1ef5 1ed0
"""


def _unikey(words: str) -> dict[str, bytes]:
    """Letter -> bytes from a UniKey table (word = mark << 8 | base)."""
    codes = [int(w, 16) for w in words.split()]
    assert len(codes) == len(UNIKEY_ORDER)
    return {
        letter: bytes([code & 0xFF, code >> 8]) if code > 0xFF else bytes([code])
        for letter, code in zip(UNIKEY_ORDER, codes, strict=True)
    }


def _representable(encoding: str) -> str:
    if encoding == "tcvn3":  # lowercase letters and the only seven capitals it has
        return LOWER + "ĂÂÊÔƠƯĐ"
    return LETTERS


def test_letter_list_is_complete() -> None:
    assert len(LETTERS) == len(set(LETTERS)) == 134
    assert all(unicodedata.is_normalized("NFC", c) and len(c) == 1 for c in LETTERS)


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_every_representable_letter_round_trips(encoding: str) -> None:
    letters = _representable(encoding)
    assert len(letters) == (74 if encoding == "tcvn3" else 134)
    for letter in letters:
        raw = encode(letter, encoding)
        assert decode(raw, encoding) == letter, (letter, raw)
    text = " ".join(letters)
    assert decode(encode(text, encoding), encoding) == text


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_letters_have_distinct_codes(encoding: str) -> None:
    codes = [encode(c, encoding) for c in _representable(encoding)]
    assert len(set(codes)) == len(codes)


# --- independent byte tables -----------------------------------------------------------------


@pytest.mark.parametrize(("letter", "raw"), sorted(_unikey(UNIKEY_VNI_WIN).items()))
def test_vni_matches_unikey(letter: str, raw: bytes) -> None:
    assert encode(letter, "vni") == raw
    assert decode(raw, "vni") == letter


@pytest.mark.parametrize(("letter", "raw"), sorted(_unikey(UNIKEY_CP1258_PRE).items()))
def test_cp1258_matches_unikey_precomposed(letter: str, raw: bytes) -> None:
    assert encode(letter, "cp1258") == raw
    assert decode(raw, "cp1258") == letter


def test_tcvn3_matches_tcvn_5712_where_vn3_defines_the_byte() -> None:
    codes = [int(w, 16) for w in X11_TCVN_A0_FF.split()]
    defined = 0
    for byte, code in enumerate(codes, start=0xA0):
        char = chr(code)
        if char in LOWER or char in "ĂÂÊÔƠƯĐ":
            assert decode(bytes([byte]), "tcvn3") == char, hex(byte)
            assert encode(char, "tcvn3") == bytes([byte])
            defined += 1
        else:  # VN1-only capitals and combining marks, and 0xA0: undefined in VN3 fonts
            with pytest.raises(DataError, match=f"0x{byte:02X}"):
                decode(bytes([byte]), "tcvn3")
    assert defined == 74


def test_tcvn3_keeps_windows_symbols_below_0xa0() -> None:
    # UniKey maps the Windows-1252 symbols 0x80-0x9F to themselves in TCVN3.
    assert decode(b"\x93\xa7\xcat \xeb\x94 \x85", "tcvn3") == "“Đất ở” …"


def test_tcvn3_capitals_are_written_with_lowercase_codes() -> None:
    # UniKey encodes Á and á both as 0xB8; decoding cannot know the font was .VnTimeH.
    assert encode("Ánh", "tcvn3", capitals_as_lowercase=True) == b"\xb8nh"
    assert encode("NGUYỄN VĂN HÙNG", "tcvn3", capitals_as_lowercase=True) == b"NGUY\xd4N V\xa1N H\xefNG"
    assert decode(b"NGUY\xd4N V\xa1N H\xefNG", "tcvn3") == "NGUYễN VĂN HùNG"
    with pytest.raises(DataError, match="capitals_as_lowercase"):
        encode("Ánh", "tcvn3")


@pytest.mark.parametrize(
    ("raw", "encoding", "text"),
    [
        (b"Nguy\xd4n", "tcvn3", "Nguyễn"),
        (b"Nguye\xe3n", "vni", "Nguyễn"),
        (b"Nguy\xea\xden", "cp1258", "Nguyễn"),
        (b"Nguy\xe1\xbb\x85n", "utf-8", "Nguyễn"),
        (b"NGUYE\xc3N", "vni", "NGUYỄN"),
        (b"Xin cha\xf8o ca\xf9c ba\xefn", "vni", "Xin chào các bạn"),  # duydev README
        (b"B\xb6o Th\xbeng", "tcvn3", "Bảo Thắng"),
        (b"M\xad\xeang Kh\xad\xacng", "tcvn3", "Mường Khương"),
        (b"\xa7\xe7 \xa7\xf8c Th\xbeng", "tcvn3", "Đỗ Đức Thắng"),
        (b"\xd1o\xe3 \xd1\xf6\xf9c Tha\xe9ng", "vni", "Đỗ Đức Thắng"),
        (b"Tr\xc7n Th\xde Thu H\xad\xacng", "tcvn3", "Trần Thị Thu Hương"),
        (b"Tra\xe0n Th\xf2 Thu H\xf6\xf4ng", "vni", "Trần Thị Thu Hương"),
        (b"\xd1a\xe1t \xf4\xfb ta\xefi \xf1o\xe2 th\xf2", "vni", "Đất ở tại đô thị"),
        (b"\xa7\xcat \xeb t\xb9i \xae\xab th\xde", "tcvn3", "Đất ở tại đô thị"),
        (b"H\xe0 N\xf4\xf2i", "cp1258", "Hà Nội"),
        (b"Ha\xcc N\xf4\xf2i", "cp1258", "Hà Nội"),  # UniKey's fully decomposed WinCP1258
        (b"H\xe0 N\xf4\xf2i", "windows-1258", "Hà Nội"),
        (b"Nguy\xd4n", "TCVN3", "Nguyễn"),
        (b"Nguye\xe3n", "VNI-Windows", "Nguyễn"),
    ],
)
def test_decode_known_bytes(raw: bytes, encoding: str, text: str) -> None:
    assert decode(raw, encoding) == text


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (unicodedata.normalize("NFD", "Nguyễn Văn Hùng").encode("utf-8"), "utf-8"),
        (b"Nguy\xea\xden V\xe3n Hu\xccng", "cp1258"),
        (b"Nguye\xe3n Va\xean Hu\xf8ng", "vni"),
        (b"NGUYE\xe3N VA\xeaN HU\xf8NG", "vni"),  # capital base with lowercase marks
        (b"Nguy\xd4n V\xa8n H\xefng", "tcvn3"),
    ],
)
def test_decoded_text_is_nfc(raw: bytes, encoding: str) -> None:
    text = decode(raw, encoding)
    assert unicodedata.is_normalized("NFC", text)
    assert text.lower() == "nguyễn văn hùng"


# --- mojibake --------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["tcvn3", "vni", "cp1258"])
@pytest.mark.parametrize("reader", ["latin-1", "cp1252"])
def test_fix_mojibake_round_trips_every_letter(encoding: str, reader: str) -> None:
    text = "“" + " ".join(_representable(encoding)) + "” – Đất ở tại đô thị"
    misread = encode(text, encoding).decode(reader)
    assert misread != text
    assert fix_mojibake(misread, encoding) == text


def test_fix_mojibake_of_real_strings() -> None:
    assert fix_mojibake("B¶o Th¾ng", "tcvn3") == "Bảo Thắng"
    assert fix_mojibake("B¸t X¸t", "tcvn3") == "Bát Xát"
    assert fix_mojibake("Xin chaøo caùc baïn", "vni") == "Xin chào các bạn"
    assert fix_mojibake("Nguyá»…n", "utf-8") == "Nguyễn"


def test_fix_mojibake_rejects_text_no_latin1_reader_produces() -> None:
    with pytest.raises(DataError, match="--encoding"):
        fix_mojibake("Nguyễn", "tcvn3")


# --- detection -------------------------------------------------------------------------------

SAMPLES = [
    "Nguyễn Văn Hùng", "Trần Thị Thu Hương", "Đỗ Đức Thắng", "Lê Thị Ánh",
    "NGUYỄN VĂN HÙNG", "TRẦN THỊ THU HƯƠNG", "ĐỖ ĐỨC THẮNG", "LÊ THỊ ÁNH",
    "Phạm Ngọc Quỳnh", "Vũ Thị Thủy", "Hoàng Minh Tuấn", "Bùi Quang Huy",
    "Số 12 ngõ 34 phố Hàng Bạc, phường Hàng Bạc, quận Hoàn Kiếm",
    "Đất ở tại đô thị", "Đất trồng lúa nước", "Đất nuôi trồng thủy sản",
    "Hà Nội", "Đống Đa", "Cầu Giấy", "Tây Hồ", "Ba Đình", "Hai Bà Trưng",
]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("text", SAMPLES)
def test_detect_single_short_value(text: str, encoding: str) -> None:
    assert detect([encode(text, encoding, capitals_as_lowercase=True)]) == encoding


@pytest.mark.parametrize(
    ("text", "encoding"),
    [  # another reading is also Vietnamese-looking unless a spelling rule rules it out
        ("Tạ Thanh Trang", "cp1258"), ("Tạ Thanh Trang", "vni"), ("Võ Thị Giang", "cp1258"),
        ("VŨ THÙY LOAN", "tcvn3"),  # tone placement
        ("Lý Thế Nhung", "tcvn3"), ("Phan Thu Tuấn", "tcvn3"),  # consistent case
        ("Cao Ngọc Hạnh", "cp1258"), ("Hoàng Trọng Khoa", "cp1258"),  # no final after a glide
        ("Cao Bích Mai", "vni"), ("Chu Bích Long", "vni"),  # -ch only after a, ê, i, y
    ],
)
def test_detect_names_that_need_spelling_rules(text: str, encoding: str) -> None:
    assert detect([encode(text, encoding, capitals_as_lowercase=True)]) == encoding


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_detect_whole_file(encoding: str) -> None:
    values = [encode(t, encoding, capitals_as_lowercase=True) for t in SAMPLES] + [b"UBND", b"12A"]
    assert detect(values) == encoding


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([b"Nguy\xd4n V\xa8n H\xefng", b"L\xaa Th\xde \xb8nh"], "tcvn3"),
        ([b"nguy\xd4n v\xa8n h\xefng"], "tcvn3"),  # capitals typed in .VnTimeH
        ([b"Nguye\xe3n Va\xean Hu\xf8ng", b"Le\xe2 Th\xf2 A\xd9nh"], "vni"),
        ([b"Nguy\xea\xden V\xe3n H\xf9ng", b"L\xea Thi\xf2 \xc1nh"], "cp1258"),
        ([b"Nguy\xea\xden V\xe3n Hu\xccng", b"Ha\xcc N\xf4\xf2i"], "cp1258"),  # decomposed
        (["Nguyễn Văn Hùng".encode()], "utf-8"),
        ([b"Nguyen Van Hung", b"UBND"], "utf-8"),
        ([], "utf-8"),
    ],
)
def test_detect_hand_written_bytes(values: list[bytes], expected: str) -> None:
    assert detect(values) == expected


def test_detect_warns_when_nothing_looks_vietnamese(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="etl.encoding"):
        detect(["Grüße aus Köln, Straße".encode("latin-1")])
    assert "--encoding" in caplog.text


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("call", [lambda: decode(b"x", "tcvn5"), lambda: encode("x", "latin-9"),
                                  lambda: fix_mojibake("x", "koi8-r")])
def test_unknown_encoding_says_what_to_use(call) -> None:
    with pytest.raises(DataError, match="--encoding") as info:
        call()
    assert "tcvn3" in str(info.value) and "vni" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_invalid_utf8_suggests_legacy_encodings() -> None:
    with pytest.raises(DataError, match="--encoding cp1258, tcvn3 or vni"):
        decode(b"Nguy\xd4n", "utf-8")


def test_undefined_byte_is_named() -> None:
    with pytest.raises(DataError, match="0xC0 at offset 1"):
        decode(b"a\xc0", "tcvn3")
    with pytest.raises(DataError, match="0xFD"):
        decode(b"\xfd", "vni")


@pytest.mark.parametrize("encoding", ["cp1258", "tcvn3", "vni"])
def test_unencodable_character(encoding: str) -> None:
    with pytest.raises(DataError, match=f"cannot be written in {encoding}"):
        encode("Phường 中", encoding)
