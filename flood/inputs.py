"""What a nowcast accepts, light enough for the API's process description to import."""

from __future__ import annotations

import math

from landflood.errors import DataError

#: The world's heaviest hour of rain on record is about 305 mm; Hanoi's drains take ~25 mm/h.
MAX_RAIN_MM_H = 300.0
MAX_DURATION_H = 24.0


def check_inputs(rain_mm_h: float | None, per_gauge: dict[str, float] | None, duration_h: float) -> None:
    """Refuse rain rates and durations outside what the model is meant for (with what to send)."""
    rates = [] if rain_mm_h is None else [rain_mm_h]
    rates += list((per_gauge or {}).values())
    if not all(math.isfinite(v) for v in [*rates, duration_h]):
        raise DataError("rain_mm_h, per_gauge values and duration_h must be finite numbers")
    if any(v < 0 or v > MAX_RAIN_MM_H for v in rates):
        raise DataError(f"rain rates must be between 0 and {MAX_RAIN_MM_H:g} mm/h (the heaviest hour of rain "
                        "ever recorded is about 305 mm)")
    if not 0 < duration_h <= MAX_DURATION_H:
        raise DataError(f"duration_h must be more than 0 and at most {MAX_DURATION_H:g} hours")
