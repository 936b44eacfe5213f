"""The rejects ledger: every input row that was not loaded, and why.

Nothing is lost: each row read ends either in the results or in the ledger
with a reason code and a message in Chinese and English.  A row rejected for
several reasons has one ledger entry per reason but counts once in the
balance ``rows_read == loaded + rejected_rows``.  Repairs (e.g. an invalid
polygon made valid) are recorded as *notes* (``severity == "note"``): the
row was loaded, the note says what was changed.

Row numbers are those the user sees: for a spreadsheet, the Excel row
(1-based, counting the title and header rows); for a vector layer, the
feature's 1-based position in the layer.

Examples
--------
>>> import pandas as pd
>>> led = Ledger()
>>> tax = pd.Series(["12", "abc", None])
>>> led.add(tax == "abc", "not_a_number", file="a.xlsx", rows=[2, 3, 4],
...         column="税收(万元)", values=tax)
>>> led.add(tax.isna(), "missing_value", file="a.xlsx", rows=[2, 3, 4], column="税收(万元)")
>>> led.rejected_rows
2
>>> led.check_balance(rows_read=3, loaded=1)
>>> led.summary()["entries"].tolist()
[1, 1]
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .labels import code_labels
from ._errors import GisError
from .outputs import csv_safe

__all__ = ["REASONS", "LEDGER_COLUMNS", "BALANCE_COLUMNS", "KIND_ZH", "Ledger", "BalanceError",
           "reason_label"]

#: reason code -> (severity, label_zh, message_zh, message_en).  Messages may
#: use {column}, {value} and {detail}.
REASONS = {
    "missing_value": ("reject", "必填项为空", "必填列「{column}」为空", "required column '{column}' is empty"),
    "not_a_number": (
        "reject", "不是数字",
        "「{column}」的值「{value}」不是数字", "'{column}' value '{value}' is not a number",
    ),
    "bad_uscc": (
        "reject", "统一社会信用代码无效",
        "统一社会信用代码「{value}」无效：{detail}", "credit code '{value}' is invalid: {detail}",
    ),
    "duplicate_uscc": (
        "reject", "统一社会信用代码重复",
        "统一社会信用代码「{value}」与第{detail}行重复，保留第{detail}行",
        "credit code '{value}' repeats row {detail}; row {detail} kept",
    ),
    "bad_size_class": (
        "reject", "规上/规下无法识别",
        "「{column}」的值「{value}」应为 规上 或 规下", "'{column}' value '{value}' must be 规上 or 规下",
    ),
    "bad_industry_code": (
        "reject", "行业代码无效",
        "行业代码「{value}」不是国民经济行业分类代码", "industry code '{value}' is not a GB/T 4754 code",
    ),
    "bad_flag": (
        "reject", "是/否无法识别",
        "「{column}」的值「{value}」应为 是 或 否", "'{column}' value '{value}' must be yes or no",
    ),
    "bad_year": (
        "reject", "年份无效",
        "「{column}」的值「{value}」不是有效年份（{detail}）", "'{column}' value '{value}' is not a valid year ({detail})",
    ),
    "wrong_unit": (
        "reject", "单位不适用",
        "「{column}」的值「{value}」的单位「{detail}」不能换算为该列的单位",
        "'{column}' value '{value}': the unit '{detail}' cannot be converted to the column's unit",
    ),
    "percent": (
        "reject", "不应为百分数",
        "「{column}」的值「{value}」是百分数，该列应为数量", "'{column}' value '{value}' is a percentage; the column holds an amount",
    ),
    "excel_error": (
        "reject", "Excel错误值",
        "「{column}」是Excel错误值 {detail}（公式出错）", "'{column}' holds the Excel error {detail} (a broken formula)",
    ),
    "totals_row": (
        "reject", "合计/小计行",
        "「{value}」是合计/小计行，不是企业", "'{value}' is a totals row, not a firm",
    ),
    "zero_land_area": (
        "reject", "用地面积为零或负数",
        "用地面积「{value}」亩不大于0，且无租赁面积", "land area '{value}' mu is not above 0 and no leased area is given",
    ),
    "zero_area": (
        "reject", "图斑面积为零或负数",
        "面积「{value}」平方米不大于0", "area '{value}' m² is not above 0",
    ),
    "bad_coordinates": (
        "reject", "坐标无效",
        "经纬度「{value}」不是有效坐标", "lon/lat '{value}' are not valid coordinates",
    ),
    "swapped_coordinates": (
        "reject", "经纬度颠倒",
        "经纬度「{value}」疑似颠倒（经度填了纬度）", "lon/lat '{value}' look swapped (latitude in the longitude column)",
    ),
    "outside_yiwu": (
        "reject", "不在义乌市范围内",
        "坐标「{value}」不在义乌市范围内", "point '{value}' lies outside Yiwu",
    ),
    "no_geometry": (
        "reject", "无几何图形",
        "要素没有几何图形{detail}", "the feature has no geometry{detail}",
    ),
    "bad_code": (
        "reject", "地类编码无效",
        "「{column}」的值「{value}」不是有效的分类编码", "'{column}' value '{value}' is not a valid class code",
    ),
    "invalid_geometry_repaired": (
        "note", "几何图形已修复",
        "无效几何图形已用 make_valid 修复：{detail}", "invalid geometry repaired with make_valid: {detail}",
    ),
    "no_parcel": (
        "note", "未匹配到工业图斑",
        "企业坐标未落在工业图斑内（{detail}），用地面积按企业名录计",
        "the firm's point is not on an industrial parcel ({detail}); its land comes from the table",
    ),
    "area_from_geometry": (
        "note", "面积按图形计算",
        "「{column}」为空，面积按图形计算为 {value} 平方米", "'{column}' is empty; area measured from the geometry: {value} m²",
    ),
    "duplicate_id": (
        "reject", "标识码重复",
        "「{column}」的值「{value}」与第{detail}行重复，保留第{detail}行",
        "'{column}' value '{value}' repeats row {detail}; row {detail} kept",
    ),
    "duplicate_feature": (
        "reject", "要素重复",
        "与第{detail}行的属性和图形完全相同，保留第{detail}行",
        "identical to row {detail} (attributes and geometry); row {detail} kept",
    ),
    "unit_converted": (
        "note", "单位已换算",
        "「{column}」的值「{value}」按所写单位换算为 {detail}",
        "'{column}' value '{value}' converted by the unit written in it to {detail}",
    ),
    "code_as_number": (
        "note", "编码以数字存储",
        "「{column}」以数字存储（如「{value}」），已按编码读作文本：{detail}",
        "'{column}' stored as numbers (e.g. '{value}'), read as code text: {detail}",
    ),
    "encoding_mismatch": (
        "note", "编码声明有误",
        "「{value}」声明的字符编码与属性表内容不符，已按 {detail} 读取",
        "'{value}' names an encoding the attribute table does not decode as; read as {detail}",
    ),
    "second_table": (
        "reject", "表格下方的另一张表",
        "属于表格下方的另一张表（{detail}），不是本表的企业",
        "part of a second table below the first ({detail}), not a firm of this table",
    ),
    "repeated_header": (
        "reject", "重复的表头行",
        "重复的表头行「{value}」（如每页打印的表头），不是企业",
        "a repeated header row ('{value}', e.g. printed on every page), not a firm",
    ),
    "coords_other_system": (
        "note", "坐标疑似来自其他坐标系",
        "坐标「{value}」按本表坐标系未落在工业用地上，按另一坐标系则落在（{detail}），疑似从其他地图复制",
        "point '{value}' is on no industrial land in the table's system but is in another ({detail}): "
        "probably copied from another map",
    ),
    "coords_per_row": (
        "note", "按其他坐标系读取",
        "坐标「{value}」按另一坐标系读取（{detail}，--coords auto）：仅按该坐标系落在工业用地上",
        "point '{value}' read in another system ({detail}, --coords auto): only there is it on industrial land",
    ),
    "code_from_name": (
        "note", "地类编码按名称确定",
        "「{column}」的值「{value}」不是二级类编码，按地类名称读作 {detail}",
        "'{column}' value '{value}' is not a level-two code; read from the class name as {detail}",
    ),
    "overlap": (
        "reject", "图斑重叠",
        "图斑与前面的图斑重叠（{detail}），不重复计算", "the patch overlaps earlier patches ({detail}); not counted twice",
    ),
    "overlap_clipped": (
        "note", "重叠部分已扣除",
        "图斑与前面的图斑部分重叠，重叠部分已从本图斑扣除（{detail}）",
        "the patch partly overlaps earlier patches; the overlap was cut from it ({detail})",
    ),
    "doubled_unit": (
        "reject", "单位重复",
        "「{column}」的值「{value}」写了两个数量级（{detail}），无法确定数值",
        "'{column}' value '{value}' carries two multipliers ({detail}); its amount is ambiguous",
    ),
    "legacy_datum": (
        "note", "旧坐标系已近似转换",
        "图层声明旧坐标系「{value}」，已近似转换为国家2000坐标系：{detail}",
        "the layer declares the legacy CRS '{value}', converted approximately to CGCS2000: {detail}",
    ),
    "declared_land_differs": (
        "note", "填报用地面积与地块面积不符",
        "填报用地面积 {value} 亩与所用地块自身面积 {detail} 亩不符（超过容差）",
        "declared land {value} mu differs from the own area {detail} mu of the land units it uses "
        "(beyond the tolerance)",
    ),
    "bad_zddm": (
        "reject", "宗地代码无效",
        "宗地代码「{value}」不是 {detail} 位", "宗地代码 '{value}' does not have {detail} characters",
    ),
    "zongdi_overlap": (
        "note", "宗地相互重叠",
        "宗地「{value}」与宗地 {detail} 重叠，两宗均保留，请核实权属界线",
        "宗地 '{value}' overlaps 宗地 {detail}; both kept, check the boundaries",
    ),
    "bad_holder_code": (
        "note", "权利人证件号无效",
        "权利人证件号「{value}」既不是有效的统一社会信用代码也不是身份证号，该宗地只按位置关联企业",
        "holder code '{value}' is neither a valid credit code nor an ID card number; "
        "the 宗地 is joined to firms by location only",
    ),
    "bad_date": (
        "reject", "日期无法识别",
        "「{column}」的值「{value}」不是可识别的日期", "'{column}' value '{value}' is not a date",
    ),
    "start_before_supply": (
        "reject", "开工日期早于供地日期",
        "「{column}」{value} 早于供地日期 {detail}", "'{column}' {value} is before the supply date {detail}",
    ),
    "unknown_land": (
        "reject", "合同地块不存在",
        "合同地块在用地图层中找不到：{detail}", "the contract's land is not in the land layer: {detail}",
    ),
}

#: columns of :meth:`Ledger.to_frame` (and of rejects.csv)
LEDGER_COLUMNS = [
    "file", "layer", "row", "column", "value", "reason", "severity", "message_zh", "message_en",
]


#: columns of :meth:`Ledger.balance` (one row per input file and sheet/layer)
BALANCE_COLUMNS = ["file", "layer", "kind", "rows_read", "loaded", "rejected"]

#: what an input file holds -> the Chinese word used in the balance lines
KIND_ZH = code_labels("input_kind")


class BalanceError(GisError, AssertionError):
    """Rows read do not equal rows loaded plus rows rejected."""


def reason_label(reason, lang="zh"):
    """Return the short label of a reason code ("统一社会信用代码无效").

    >>> reason_label("bad_uscc")
    '统一社会信用代码无效'
    """
    if reason not in REASONS:
        return reason
    return REASONS[reason][1] if lang == "zh" else reason.replace("_", " ")


_FIELD = re.compile(r"\{(column|value|detail)\}")


def _fill(template, n, fields):
    """Format ``template`` over ``n`` entries; fields are scalars or Series."""
    out = pd.Series([""] * n, dtype=object)
    for piece in _FIELD.split(template):
        if piece in fields:
            val = fields[piece]
            if isinstance(val, pd.Series):
                out = out + val.reset_index(drop=True).astype(str)
            else:
                out = out + str(val)
        elif piece:
            out = out + piece
    return out


def _text(values):
    """Values as text for the ledger (missing -> empty)."""
    s = pd.Series(values, dtype=object).reset_index(drop=True)
    return s.where(s.notna(), "").astype(str)


class Ledger:
    """Rejected rows and repair notes, with the counts to balance them.

    Entries are added from boolean masks (one call per check, vectorised).
    Sources (file, layer, rows read, rows loaded) are recorded with
    :meth:`record` so that :meth:`check_balance` and :meth:`summary` can
    account for each file.
    """

    def __init__(self):
        self._parts = []
        self._sources = []

    # -- adding ---------------------------------------------------------
    def add(self, mask, reason, *, file, rows, layer="", column="", values=None, detail=""):
        """Add one entry per True in ``mask``.

        Parameters
        ----------
        mask : array-like of bool
            Which rows the reason applies to.
        reason : str
            A key of :data:`REASONS`.
        file : str
            File name shown to the user.
        rows : array-like of int
            The user-visible row number of every row (same length as ``mask``).
        layer : str
            Sheet or layer name.
        column : str
            The column concerned, as named in the file.
        values : array-like, optional
            The offending values (same length as ``mask``).
        detail : str or array-like, optional
            Extra text for the message (e.g. the row of the first duplicate).
        """
        if reason not in REASONS:
            raise GisError(f"unknown ledger reason {reason!r}; known: {', '.join(REASONS)}")
        mask = np.asarray(mask, dtype=bool)
        rows = np.asarray(rows)
        if rows.shape != mask.shape:
            raise GisError(f"ledger: rows ({rows.shape}) and mask ({mask.shape}) differ in length")
        n = int(mask.sum())
        if n == 0:
            return
        val = _text(np.asarray(values, dtype=object)[mask]) if values is not None else pd.Series([""] * n)
        if np.ndim(detail) == 0:
            det = str(detail)
        else:
            det = _text(np.asarray(detail, dtype=object)[mask])
        severity, _, zh, en = REASONS[reason]
        fields = {"column": column, "value": val, "detail": det}
        part = pd.DataFrame(
            {
                "file": str(file),
                "layer": str(layer or ""),
                "row": rows[mask].astype(np.int64),
                "column": str(column or ""),
                "value": val.to_numpy(),
                "reason": reason,
                "severity": severity,
                "message_zh": _fill(zh, n, fields).to_numpy(),
                "message_en": _fill(en, n, fields).to_numpy(),
            }
        )
        self._parts.append(part)

    def record(self, file, rows_read, loaded, layer="", kind=None):
        """Record how many rows a source (one file, one sheet/layer) had and how many were loaded.

        A second record of the same file and layer replaces the first (a
        reader that drops more rows after a lower-level read records again).

        Parameters
        ----------
        file, layer : str
            As in :meth:`add`.
        rows_read, loaded : int
        kind : str, optional
            What the file holds: a key of :data:`KIND_ZH` (``"enterprises"``,
            ``"landuse"``, ...); kept from the earlier record when not given.
        """
        key = (str(file), str(layer or ""))
        old = [s for s in self._sources if (s["file"], s["layer"]) == key]
        kind = kind if kind is not None else (old[-1]["kind"] if old else "")
        self._sources = [s for s in self._sources if (s["file"], s["layer"]) != key]
        self._sources.append({"file": key[0], "layer": key[1], "kind": str(kind or ""),
                              "rows_read": int(rows_read), "loaded": int(loaded)})

    def mark(self, kind):
        """Set the kind (a key of :data:`KIND_ZH`) of every source recorded so far; returns self."""
        for src in self._sources:
            src["kind"] = str(kind)
        return self

    def extend(self, other):
        """Append the entries and sources of another ledger (in place); returns self."""
        self._parts.extend(other._parts)
        self._sources.extend(other._sources)
        return self

    def __add__(self, other):
        return Ledger.combine([self, other])

    @classmethod
    def combine(cls, ledgers):
        """Return a new ledger holding the entries of all ``ledgers``."""
        out = cls()
        for led in ledgers:
            out.extend(led)
        return out

    # -- reading --------------------------------------------------------
    def to_frame(self):
        """All entries as a DataFrame with :data:`LEDGER_COLUMNS`, in the order added."""
        if not self._parts:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else object) for c in LEDGER_COLUMNS})
        return pd.concat(self._parts, ignore_index=True)[LEDGER_COLUMNS]

    def sources(self):
        """Recorded sources: file, layer, kind, rows_read, loaded, rejected (DataFrame).

        ``rejected`` is ``rows_read - loaded`` as recorded; :meth:`balance`
        counts it from the entries instead.
        """
        src = pd.DataFrame(self._sources, columns=["file", "layer", "kind", "rows_read", "loaded"])
        src["rejected"] = src["rows_read"] - src["loaded"]
        return src

    def balance(self, kind=None):
        """The balance of every input file: rows read, loaded and rejected (counted from the entries).

        Parameters
        ----------
        kind : str, optional
            Only the sources of this kind (e.g. ``"enterprises"``).

        Returns
        -------
        DataFrame
            :data:`BALANCE_COLUMNS`, one row per recorded file and
            sheet/layer, in the order recorded.

        Examples
        --------
        >>> led = Ledger()
        >>> led.add([True, False, True], "missing_value", file="a.xlsx", rows=[2, 3, 4], column="税收(万元)")
        >>> led.record("a.xlsx", 3, 1, kind="enterprises")
        >>> led.record("DLTB.gpkg", 10, 10, layer="DLTB", kind="landuse")
        >>> led.balance()[["file", "rows_read", "loaded", "rejected"]].values.tolist()
        [['a.xlsx', 3, 1, 2], ['DLTB.gpkg', 10, 10, 0]]
        """
        src = self.sources().drop(columns="rejected")
        if kind is not None:
            src = src[src["kind"] == kind]
        src["rejected"] = [self.rejected_rows_of(f, lay) for f, lay in zip(src["file"], src["layer"])]
        return src[BALANCE_COLUMNS].reset_index(drop=True)

    def counts(self, kind):
        """Rows read, loaded and rejected summed over the sources of one kind.

        Returns
        -------
        dict
            ``rows_read``, ``loaded``, ``rejected`` (all 0 when nothing of
            that kind was recorded).

        Examples
        --------
        >>> led = Ledger()
        >>> led.add([True, False], "missing_value", file="a.xlsx", rows=[2, 3])
        >>> led.record("a.xlsx", 2, 1, kind="enterprises")
        >>> led.add([True], "no_geometry", file="b.gpkg", rows=[1])
        >>> led.record("b.gpkg", 5, 4, kind="landuse")
        >>> led.counts("enterprises")
        {'rows_read': 2, 'loaded': 1, 'rejected': 1}
        """
        b = self.balance(kind)
        return {c: int(b[c].sum()) for c in ("rows_read", "loaded", "rejected")}

    def balance_lines(self, kind=None):
        """One line per input file: ``企业表 a.xlsx [企业]: 读取 16 行 = 载入 2 + 拒绝 14``.

        Returns
        -------
        list of str
            Bilingual lines, one per recorded file and sheet/layer.

        Examples
        --------
        >>> led = Ledger()
        >>> led.add([True, False], "missing_value", file="a.xlsx", rows=[2, 3], layer="企业")
        >>> led.record("a.xlsx", 2, 1, layer="企业", kind="enterprises")
        >>> led.balance_lines()
        ['企业表 a.xlsx [企业]: 读取 2 行 = 载入 1 + 拒绝 1 | rows read 2 = loaded 1 + rejected 1']
        """
        lines = []
        for src in self.balance(kind).itertuples(index=False):
            what = KIND_ZH.get(src.kind, src.kind)
            where = (f"{what} " if what else "") + src.file + (f" [{src.layer}]" if src.layer else "")
            lines.append(
                f"{where}: 读取 {src.rows_read} 行 = 载入 {src.loaded} + 拒绝 {src.rejected} | "
                f"rows read {src.rows_read} = loaded {src.loaded} + rejected {src.rejected}"
            )
        return lines

    def __len__(self):
        return sum(len(p) for p in self._parts)

    def _rejects(self):
        df = self.to_frame()
        return df[df["severity"] == "reject"]

    @property
    def rejected_rows(self):
        """Number of distinct rows rejected (a row with two reasons counts once)."""
        return int(self._rejects()[["file", "layer", "row"]].drop_duplicates().shape[0])

    def rejected_rows_of(self, file, layer=""):
        """Distinct rows rejected from one file (and layer)."""
        r = self._rejects()
        r = r[(r["file"] == str(file)) & (r["layer"] == str(layer or ""))]
        return int(r["row"].nunique())

    @property
    def notes(self):
        """The notes (repairs) as a DataFrame."""
        df = self.to_frame()
        return df[df["severity"] == "note"].reset_index(drop=True)

    @property
    def rejects(self):
        """The rejects as a DataFrame."""
        return self._rejects().reset_index(drop=True)

    def summary(self):
        """Counts by reason: severity, reason, label_zh, entries, rows (DataFrame).

        ``entries`` counts ledger lines; ``rows`` counts distinct rows.
        Rejects come first, then notes, each by descending count.
        """
        df = self.to_frame()
        if df.empty:
            return pd.DataFrame(columns=["severity", "reason", "label_zh", "entries", "rows"])
        g = df.groupby(["severity", "reason"], sort=False)
        out = g.size().rename("entries").to_frame()
        distinct = df.drop_duplicates(["severity", "reason", "file", "layer", "row"])
        out["rows"] = distinct.groupby(["severity", "reason"], sort=False).size()
        out = out.reset_index()
        out["label_zh"] = out["reason"].map(lambda r: reason_label(r))
        out["_order"] = (out["severity"] != "reject").astype(int)
        out = out.sort_values(["_order", "entries"], ascending=[True, False], kind="stable")
        return out[["severity", "reason", "label_zh", "entries", "rows"]].reset_index(drop=True)

    def check_balance(self, rows_read=None, loaded=None, file=None, layer=""):
        """Raise :class:`BalanceError` unless ``rows_read == loaded + rejected rows``.

        Without arguments every recorded source is checked; with ``file``
        only that source's rejects are counted.

        Raises
        ------
        BalanceError
            An ``AssertionError`` and a :class:`gis.GisError`.
        """
        if rows_read is None:
            for src in self._sources:
                self.check_balance(src["rows_read"], src["loaded"], src["file"], src["layer"])
            return
        rejected = self.rejected_rows if file is None else self.rejected_rows_of(file, layer)
        if int(rows_read) != int(loaded) + rejected:
            where = f"{file}: " if file else ""
            raise BalanceError(
                f"{where}rows read ({rows_read}) != loaded ({loaded}) + rejected ({rejected}); "
                "a row was lost or counted twice"
            )

    def summary_text(self):
        """A bilingual plain-text summary: per source, rows read/loaded/rejected and reasons.

        Returns
        -------
        str
            One :meth:`balance_lines` line per source (``企业表 企业.xlsx [企业]:
            读取 16 行 = 载入 2 + 拒绝 14 | ...``), each followed by one line
            per reason (label, code, number of rows).
        """
        df = self.to_frame()
        lines = []
        for src, line in zip(self._sources, self.balance_lines()):
            lines.append(line)
            mine = df[(df["file"] == src["file"]) & (df["layer"] == src["layer"])]
            for severity, title in (("reject", "拒绝原因 / rejected by reason"), ("note", "备注 / notes")):
                part = mine[mine["severity"] == severity]
                if part.empty:
                    continue
                lines.append(f"  {title}:")
                counts = part.drop_duplicates(["reason", "row"]).groupby("reason", sort=False).size()
                for reason, count in counts.sort_values(ascending=False, kind="stable").items():
                    lines.append(f"    {reason_label(reason)} ({reason}): {count}")
        # no total over the files: firm rows and parcel rows are not added up
        return "\n".join(lines)

    def write_csv(self, path):
        """Write the ledger as CSV in UTF-8 with BOM (opens in Excel on Chinese Windows).

        A text cell Excel would run as a formula (starting with =, +, -, @,
        tab or CR) is written with a ``'`` in front (:func:`gis.outputs.csv_safe`).

        Returns
        -------
        pathlib.Path
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # a name like "=HYPERLINK(...)" stays text in Excel (OWASP: a ' in front)
        tmp = path.with_name(f".{path.name}.partial")
        csv_safe(self.to_frame()).to_csv(tmp, index=False, encoding="utf-8-sig")
        os.replace(tmp, path)  # never half-written
        return path

    def __repr__(self):
        return f"<Ledger: {len(self)} entries, {self.rejected_rows} rows rejected, {len(self.notes)} notes>"
