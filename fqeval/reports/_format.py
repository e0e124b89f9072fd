"""Number and value formatting shared by the reports and the CLI tables.

One rule per kind of number, everywhere it is shown: p-values through :func:`format_p_value`,
other statistics through :func:`num`, provenance values through :func:`plain_value`.
"""

from __future__ import annotations

import math
from typing import Any

#: how a p-value below double precision's resolution (computed as 0) is shown
TINY_P = "< 1e-16"

#: how a missing value is shown in provenance tables
NONE = "—"


def format_p_value(p: Any) -> str:
    """A p-value for display: 3 significant digits, ``< 1e-16`` below double precision's
    resolution (a computed 0), ``1.000`` for 1; ``n/a`` when missing. A string (a p-value
    already formatted) is returned as is."""
    if isinstance(p, str):
        return p
    if p is None or isinstance(p, bool) or not isinstance(p, (int, float)) or math.isnan(p):
        return "n/a"
    p = float(p)
    if p < 1e-16:
        return TINY_P
    if p >= 0.1:
        return f"{p:.3f}"
    if p >= 0.001:
        return f"{p:.3g}"
    return f"{p:.2e}"


def num(value: Any, digits: int = 3) -> str:
    """A statistic (not a p-value) for display: ``n/a`` for missing, scientific when tiny."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "n/a"
        if value != 0 and abs(value) < 10 ** (-digits):
            return f"{value:.1e}"
        return f"{value:.{digits}f}"
    return str(value)


def plain_value(value: Any) -> str:
    """A scalar for a key/value table: ``yes``/``no`` for booleans, ``—`` for none, lists of
    scalars joined by commas."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and not math.isfinite(value):
        return "n/a"
    if isinstance(value, (list, tuple)):
        return ", ".join(plain_value(v) for v in value) if value else NONE
    text = str(value)
    return text if text else NONE
