"""Read the bureau's 标准地 contract ledger (``--contracts``): Excel or CSV, Chinese headers.

Read with the machinery of the firm table (:func:`gis.io.read_table`: sheet
and header row found below title rows, GBK/UTF-8 CSV; header aliases;
numbers with units through :func:`gis.io.number_cells`), every row either
loaded or rejected to the ledger with a reason, and the balance 读取 = 载入 +
拒绝 recorded for the file (kind ``contracts``).  Rows whose land cannot be
found are rejected later, when the contracts are attached to the land
(:func:`gis.contracts.land.attach_contracts`), which records the balance again.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from .._errors import ValidationError
from ..config import section
from ..identifiers import normalise_uscc, uscc_problem
from ..io import column_mapping, excel_errors, normalise_header, number_cells, read_table
from ..labels import column_labels
from ..ledger import Ledger

__all__ = ["CONTRACT_COLUMNS", "CONTRACT_ALIASES", "DATE_COLUMNS", "NUMBER_UNITS", "date_cells",
           "load_contracts", "KIND"]

#: ledger kind of the contract file
KIND = "contracts"

_KINDS = {  # internal name -> (kind: text/number/date, unit the toolkit keeps it in)
    "contract_id": ("text", None), "land_code": ("text", None), "holder": ("text", None),
    "uscc": ("text", None), "lon": ("number", None), "lat": ("number", None),
    "x": ("number", None), "y": ("number", None), "land_mu": ("number", "亩"),
    "price": ("number", "万元"), "supply_date": ("date", None), "start_due": ("date", None),
    "finish_due": ("date", None), "production_due": ("date", None), "review_due": ("date", None),
    "t_investment_intensity": ("number", "万元/亩"), "t_far": ("number", None),
    "t_tax_per_mu": ("number", "万元/亩"), "t_energy_va": ("number", "万元/吨标煤"),
    "t_emission_va": ("number", "万元/吨"), "t_rd_share": ("number", "%"),
    "t_output_per_mu": ("number", "万元/亩"), "total_investment": ("number", "万元"),
    "floor_to_build": ("number", "m2"), "start_actual": ("date", None),
    "finish_actual": ("date", None), "stop_date": ("date", None), "built_area": ("number", "m2"),
    "invested": ("number", "万元"),
}
_HEADER = column_labels("contracts")
#: internal name -> (Chinese header written in outputs, kind: text/number/date, unit)
CONTRACT_COLUMNS = {k: (_HEADER[k], kind, unit) for k, (kind, unit) in _KINDS.items()}
DATE_COLUMNS = [k for k, v in CONTRACT_COLUMNS.items() if v[1] == "date"]
#: number column -> the unit the toolkit keeps it in
NUMBER_UNITS = {k: v[2] for k, v in CONTRACT_COLUMNS.items() if v[1] == "number"}

#: spellings seen in county ledgers (matched after stripping spaces, brackets and units)
CONTRACT_ALIASES = {
    "contract_id": ["地块编号", "出让地块编号", "合同编号", "出让合同编号", "项目编号", "地块号"],
    "land_code": ["宗地代码", "宗地号", "不动产单元号", "zddm"],
    "holder": ["受让人", "受让单位", "竞得人", "用地单位", "企业名称"],
    "uscc": ["统一社会信用代码", "信用代码", "受让人信用代码", "uscc"],
    "lon": ["经度", "lon", "lng"],
    "lat": ["纬度", "lat"],
    "x": ["x坐标", "x", "横坐标"],
    "y": ["y坐标", "y", "纵坐标"],
    "land_mu": ["出让面积", "用地面积", "土地面积", "宗地面积"],
    "price": ["出让价款", "成交价", "成交价款", "土地出让金", "出让金"],
    "supply_date": ["供地日期", "交地日期", "签约日期", "合同签订日期", "出让日期"],
    "start_due": ["约定开工日期", "约定动工日期", "约定动工开发日期", "开工期限"],
    "finish_due": ["约定竣工日期", "竣工期限"],
    "production_due": ["约定投产日期", "投产期限"],
    "review_due": ["达产复核日期", "达产复核时间", "达产期限", "约定达产日期"],
    "t_investment_intensity": ["约定投资强度", "投资强度", "固定资产投资强度"],
    "t_far": ["约定容积率", "容积率", "容积率下限"],
    "t_tax_per_mu": ["约定亩均税收", "亩均税收"],
    "t_energy_va": ["约定单位能耗增加值", "单位能耗增加值", "单位能耗标准"],
    "t_emission_va": ["约定单位排放增加值", "单位排放增加值", "单位排放标准"],
    "t_rd_share": ["约定研发经费占比", "研发经费占比", "r&d占比", "研发投入占比"],
    "t_output_per_mu": ["约定亩均产值", "亩均产值"],
    "total_investment": ["约定总投资", "总投资", "计划总投资", "项目总投资"],
    "floor_to_build": ["应建建筑面积", "规划建筑面积", "计容建筑面积"],
    "start_actual": ["实际开工日期", "开工日期", "施工许可日期", "实际动工日期"],
    "finish_actual": ["实际竣工日期", "竣工日期", "竣工验收日期"],
    "stop_date": ["停工日期", "中止开发日期"],
    "built_area": ["已建建筑面积", "已建面积"],
    "invested": ["已投资额", "累计投资", "累计完成投资"],
}

_SERIAL_EPOCH = pd.Timestamp("1899-12-30")  # Excel's day 0 (1900 date system)
_DATE_SEP = re.compile(r"[年月./]")


def date_cells(values, missing_tokens=("", "-", "—", "/", "无", "null", "none", "nan")):
    """Read the cells of a date column: dates, Excel serial numbers, 2024-3-1, 2024/03/01,
    2024.3.1, 2024年3月1日, 20240301.

    Returns
    -------
    dates : Series of datetime64[ns]
        NaT where blank or unreadable.
    bad : Series of bool
        True where a cell held something that is not a date.

    Examples
    --------
    >>> d, bad = date_cells(["2024年3月1日", 45352, "2024/3/1", "20240301", "", "明年", "2023-02-29"])
    >>> d.dt.strftime("%Y-%m-%d").tolist()[:4], bad.tolist()
    (['2024-03-01', '2024-03-01', '2024-03-01', '2024-03-01'], [False, False, False, False, False, True, True])
    """
    s = pd.Series(values, dtype=object).reset_index(drop=True)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    bad = pd.Series(False, index=s.index)
    blank = s.isna()
    is_dt = s.map(lambda v: isinstance(v, (pd.Timestamp, np.datetime64)) or hasattr(v, "year")
                  and not isinstance(v, str))
    if is_dt.any():
        out[is_dt] = pd.to_datetime(s[is_dt], errors="coerce")
    is_num = s.map(lambda v: isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool))
    is_num &= ~is_dt & ~blank
    text = s.where(~(is_num | is_dt | blank)).dropna().astype(str)
    text = text.map(lambda t: unicodedata.normalize("NFKC", t).strip())
    low = text.str.lower()
    text = text[~low.isin(missing_tokens)]
    nums = pd.concat([s[is_num].astype(float), pd.to_numeric(text, errors="coerce").dropna()])
    text = text.drop(nums.index, errors="ignore")
    ymd = nums[(nums >= 19000101) & (nums <= 21001231) & (nums % 1 == 0)]
    serial = nums[(nums >= 1) & (nums < 100000) & (nums % 1 == 0)]
    out[ymd.index] = pd.to_datetime(ymd.astype("int64").astype(str), format="%Y%m%d", errors="coerce")
    out[serial.index] = _SERIAL_EPOCH + pd.to_timedelta(serial, unit="D")
    bad[nums.index.difference(ymd.index).difference(serial.index)] = True
    bad[ymd.index] = out[ymd.index].isna()
    t = text.str.split(r"[ T]", n=1, regex=True).str[0].str.replace("日", "", regex=False)
    t = t.str.replace(_DATE_SEP, "-", regex=True).str.strip("-")
    parsed = pd.to_datetime(t, format="%Y-%m-%d", errors="coerce")
    out[parsed.index] = parsed
    bad[parsed.index] = parsed.isna()
    return out, bad


def _header_units(mapping, settings, source):
    """The unit each number column's header declares, refused when it cannot be converted."""
    table = {k: set(v) for k, v in section(settings, "io")["unit_factors"].items()}
    problems, units = [], {}
    for internal, header in mapping.items():
        target = NUMBER_UNITS.get(internal, False)
        if target is False:
            continue
        unit = normalise_header(header)[1]
        units[internal] = unit
        if unit is None or target is None and unit is None:
            continue
        if unit == (target or "").lower() or unit in table.get(target or "", ()):
            continue
        problems.append(f"column '{header}': unit '{unit}' cannot be converted to "
                        f"{target or 'a plain number'} / 列单位无法换算")
    if problems:
        raise ValidationError(problems, source=source)
    return units


def load_contracts(path, settings=None, sheet=None):
    """Read and check a 标准地 contract table.

    Parameters
    ----------
    path : str or Path
        ``.xlsx``/``.xls``/``.csv`` with Chinese headers (:data:`CONTRACT_ALIASES`).
    settings : dict, optional
    sheet : str or int, optional

    Returns
    -------
    contracts : DataFrame
        One row per loaded contract with the internal names of
        :data:`CONTRACT_COLUMNS` (absent optional columns left out, so that
        the check can tell "not given" from "blank"), dates as datetime64,
        numbers in the toolkit's units, ``source_row`` (Excel row).
    ledger : gis.ledger.Ledger
        Rejected rows (``bad_date``, ``not_a_number``, ``wrong_unit``,
        ``bad_uscc``, ``duplicate_id``, ``start_before_supply``,
        ``missing_value``) and the balance.

    Raises
    ------
    ValidationError
        When the table cannot be used at all: neither 地块编号 nor 宗地代码, no
        way to find the land (宗地代码, 经纬度/XY or 信用代码), a header unit that
        cannot be converted.
    """
    settings = settings if settings is not None else None
    raw, header_row = read_table(path, sheet=sheet, aliases=CONTRACT_ALIASES, settings=settings,
                                 required=[])
    file = Path(path).name
    layer = raw.attrs.get("sheet", "") or ""
    mapping = column_mapping(list(raw.columns), aliases=CONTRACT_ALIASES, required=[], source=file,
                             header_row=header_row)
    problems = []
    if "contract_id" not in mapping and "land_code" not in mapping:
        problems.append("missing 地块编号 or 宗地代码 / 缺少地块编号或宗地代码列; headers found: "
                        + ", ".join(map(str, raw.columns)))
    if not ({"land_code", "uscc"} & set(mapping) or {"lon", "lat"} <= set(mapping)
            or {"x", "y"} <= set(mapping)):
        problems.append("no column locating the land (宗地代码, 经度/纬度, X/Y or 统一社会信用代码) "
                        "/ 缺少定位地块的列")
    if problems:
        raise ValidationError(problems, source=file)
    units = _header_units(mapping, settings, file)
    rows = raw.index.to_numpy()
    n = len(raw)
    led = Ledger()
    bad = np.zeros(n, bool)

    def reject(mask, reason, internal, values=None, detail=""):
        nonlocal bad
        mask = np.asarray(mask, bool) & ~bad
        led.add(mask, reason, file=file, layer=layer, rows=rows, column=mapping.get(internal, internal),
                values=values, detail=detail)
        bad |= mask

    out = {}
    for internal, header in mapping.items():
        col = raw[header].reset_index(drop=True)
        err = excel_errors(col)
        reject(err.notna(), "excel_error", internal, err, err.fillna(""))
        col = col.where(err.isna(), None)
        kind = CONTRACT_COLUMNS[internal][1]
        if kind == "date":
            d, b = date_cells(col)
            reject(b, "bad_date", internal, col)
            out[internal] = d
        elif kind == "number":
            unit = NUMBER_UNITS[internal]
            text = col
            if unit == "%":  # "3%" and "3" both mean 3 % in a column of percentages
                text = col.map(lambda v: v.strip().rstrip("%％") if isinstance(v, str) else v)
            src = units.get(internal)
            t = number_cells(text, unit=None if unit == "%" else unit,
                             source_unit=None if unit == "%" else src, settings=settings)
            reject(t["reason"].notna(), "not_a_number", internal, col)
            out[internal] = t["value"].to_numpy(float)
        else:
            s = col.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v))
                        else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip()))
            out[internal] = s.where(s != "", None)
    frame = pd.DataFrame(out)
    if "uscc" in frame:
        code = normalise_uscc(frame["uscc"]).reset_index(drop=True)
        why = uscc_problem(frame["uscc"]).reset_index(drop=True)
        reject(code.notna() & why.notna(), "bad_uscc", "uscc", frame["uscc"], why.fillna(""))
        frame["uscc"] = code.where(why.isna(), None)
    if "contract_id" not in frame:
        frame["contract_id"] = frame["land_code"]
    reject(frame["contract_id"].isna().to_numpy(), "missing_value", "contract_id")
    ids = frame["contract_id"].where(pd.Series(~bad))
    dup = ids.notna() & ids.duplicated(keep="first")
    first = pd.Series(rows).groupby(ids).transform("first")
    reject(dup, "duplicate_id", "contract_id", frame["contract_id"], first.where(dup).astype("Int64"))
    if "supply_date" in frame:
        for col in ("start_due", "start_actual"):
            if col in frame:
                early = (frame[col] < frame["supply_date"]).to_numpy()
                reject(early, "start_before_supply", col, frame[col].dt.strftime("%Y-%m-%d"),
                       frame["supply_date"].dt.strftime("%Y-%m-%d"))
    frame["source_row"] = rows.astype("int64")
    frame = frame.loc[~bad].reset_index(drop=True)
    frame.attrs.update(file=file, sheet=layer)
    led.record(file, n, len(frame), layer, kind=KIND)
    led.check_balance(n, len(frame), file, layer)
    return frame, led
