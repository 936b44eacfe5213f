"""What a map popup says: names for the codes a planner does not read.

* :func:`named_plan_codes`: "规划为非工业用地(1401)" → "规划为非工业用地(1401 公园绿地)".
* :func:`grade_names`: "B" → "B 鼓励提升".
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["named_plan_codes", "grade_names"]

_CODE = re.compile(r"\((\d{4}[0-9A-Z]{0,2})\)")


def named_plan_codes(texts, system="ydyh"):
    """``texts`` with each land-use code in brackets followed by its name.

    Parameters
    ----------
    texts : pandas.Series of str
    system : {"ydyh", "sandiao"}
        The classification of the codes (the plan: 用地用海).

    Returns
    -------
    pandas.Series

    Examples
    --------
    >>> named_plan_codes(pd.Series(["规划为非工业用地(1401) 14.28 亩", "", "(9999)"])).tolist()
    ['规划为非工业用地(1401 公园绿地) 14.28 亩', '', '(9999)']
    """
    from .landuse import landuse_name

    s = pd.Series(texts)
    codes = sorted({c for t in s.dropna().astype(str) for c in _CODE.findall(t)})
    if not codes:
        return s
    names = dict(zip(codes, landuse_name(codes, system)))

    def sub(m):
        name = names.get(m.group(1))
        return f"({m.group(1)} {name})" if isinstance(name, str) and name else m.group(0)

    return s.map(lambda t: _CODE.sub(sub, t) if isinstance(t, str) else t)


def grade_names(grades):
    """Class letters with their names (A 优先发展 …); other values as they are.

    >>> grade_names(pd.Series(["B", "", "x"])).tolist()
    ['B 鼓励提升', '', 'x']
    """
    from .labels import CLASSES

    return pd.Series(grades).map(lambda g: f"{g} {CLASSES[g]}" if isinstance(g, str) and g in CLASSES else g)
