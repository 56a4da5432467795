"""How many SMS segments a text takes, and in which encoding (3GPP TS 23.038 / 23.040).

A text made only of the GSM 7-bit default alphabet (plus its extension table, whose characters take
an escape septet and so count 2) is sent as GSM-7: 160 septets in one SMS, 153 per segment once it
must be split (the concatenation header takes the rest). Any other character forces UCS-2: 70 UTF-16
code units in one SMS, 67 per segment (a character outside the BMP takes 2 units). A split never
cuts an escape sequence or a surrogate pair in two.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: The 127 characters of the GSM 7-bit default alphabet (the 128th code is the escape).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: The default extension table: escape + one septet each.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_MULTI = 160, 153
UCS2_SINGLE, UCS2_MULTI = 70, 67


@dataclass(frozen=True, slots=True)
class SegmentCount:
    #: "GSM-7" or "UCS-2".
    encoding: str
    #: Septets (GSM-7) or UTF-16 code units (UCS-2) of the whole text.
    units: int
    segments: int


def count_segments(text: str) -> SegmentCount:
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        costs = [2 if char in GSM7_EXTENSION else 1 for char in text]
        return SegmentCount("GSM-7", sum(costs), _pack(costs, GSM7_SINGLE, GSM7_MULTI))
    costs = [2 if ord(char) > 0xFFFF else 1 for char in text]
    return SegmentCount("UCS-2", sum(costs), _pack(costs, UCS2_SINGLE, UCS2_MULTI))


def _pack(costs: Iterable[int], single: int, multi: int) -> int:
    costs = list(costs)
    total = sum(costs)
    if total <= single:
        return 1 if total else 0
    segments, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            segments, used = segments + 1, 0
        used += cost
    return segments
