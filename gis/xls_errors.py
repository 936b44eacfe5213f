"""The error cells (#N/A, #DIV/0!...) of a legacy Excel 97-2003 workbook (.xls).

python-calamine reads an .xls error cell as an empty string, so a firm with
``#DIV/0!`` under 工业增加值 would look "not reported".  This module reads
the cells' error codes straight from the file: the workbook stream of the
OLE compound file (MS-CFB), then the BIFF8 records of each sheet --
``BOOLERR`` (a constant error) and ``FORMULA`` (the cached result of a
formula that failed).  Only the standard library is used.
"""

from __future__ import annotations

import struct
from pathlib import Path

__all__ = ["XLS_ERROR_CODES", "xls_error_cells"]

#: BIFF error code -> the text Excel shows
XLS_ERROR_CODES = {0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!", 0x1D: "#NAME?",
                   0x24: "#NUM!", 0x2A: "#N/A", 0x2B: "#GETTING_DATA"}

_ENDOFCHAIN = 0xFFFFFFFE


def _cfb_stream(data, wanted=("workbook", "book")):
    """The bytes of the first stream named in ``wanted`` of an OLE compound file, or None."""
    if data[:8] != b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return None
    ssz = 1 << struct.unpack_from("<H", data, 30)[0]
    mssz = 1 << struct.unpack_from("<H", data, 32)[0]
    nfat, first_dir = struct.unpack_from("<II", data, 44)
    cutoff, first_mini, nmini, first_difat, ndifat = struct.unpack_from("<IIIII", data, 56)

    def sector(i):
        off = (i + 1) * ssz
        return data[off:off + ssz]

    difat = list(struct.unpack_from("<109I", data, 76))
    nxt = first_difat
    for _ in range(ndifat):
        if nxt >= _ENDOFCHAIN:
            break
        words = struct.unpack(f"<{ssz // 4}I", sector(nxt))
        difat += words[:-1]
        nxt = words[-1]
    fat = []
    for s in difat[:nfat]:
        fat += struct.unpack(f"<{ssz // 4}I", sector(s))

    def chain(start, table, limit):
        out, i, seen = [], start, 0
        while i < _ENDOFCHAIN and i < len(table) and seen < limit:
            out.append(i)
            i = table[i]
            seen += 1
        return out

    limit = len(data) // ssz + 1
    dirs = b"".join(sector(i) for i in chain(first_dir, fat, limit))
    entries = []
    for k in range(len(dirs) // 128):
        e = dirs[k * 128:(k + 1) * 128]
        nlen = struct.unpack_from("<H", e, 64)[0]
        name = e[:max(nlen - 2, 0)].decode("utf-16-le", errors="replace")
        etype = e[66]
        start, size = struct.unpack_from("<II", e, 116)
        entries.append((name, etype, start, size))
    if not entries:
        return None
    root = entries[0]
    for name, etype, start, size in entries:
        if etype != 2 or name.lower() not in wanted:
            continue
        if size >= cutoff:
            return b"".join(sector(i) for i in chain(start, fat, limit))[:size]
        mini_stream = b"".join(sector(i) for i in chain(root[2], fat, limit))
        minifat = []
        for s in chain(first_mini, fat, limit)[:nmini]:
            minifat += struct.unpack(f"<{ssz // 4}I", sector(s))
        parts = [mini_stream[i * mssz:(i + 1) * mssz] for i in chain(start, minifat, limit * 8)]
        return b"".join(parts)[:size]
    return None


def _records(stream, pos):
    while pos + 4 <= len(stream):
        rtype, rlen = struct.unpack_from("<HH", stream, pos)
        yield rtype, stream[pos + 4:pos + 4 + rlen]
        pos += 4 + rlen
        if rtype == 0x000A:  # EOF of this substream
            return


def _sheets(stream):
    """``[(name, offset of its BOF)]`` from the BOUNDSHEET records of the workbook globals."""
    out = []
    for rtype, body in _records(stream, 0):
        if rtype == 0x0085 and len(body) >= 8:
            offset = struct.unpack_from("<I", body, 0)[0]
            cch, flags = body[6], body[7]
            raw = body[8:8 + (cch * 2 if flags & 1 else cch)]
            name = raw.decode("utf-16-le" if flags & 1 else "latin-1", errors="replace")
            out.append((name, offset))
    return out


def xls_error_cells(path, sheet):
    """``{(row, col): "#DIV/0!"}`` (0-based) of the error cells of one sheet of an .xls.

    Empty when the file is not a BIFF8 workbook or the sheet is not found.
    """
    try:
        data = Path(path).read_bytes()
        stream = _cfb_stream(data)
        if stream is None:
            return {}
        offset = dict(_sheets(stream)).get(sheet)
        if offset is None:
            return {}
        out = {}
        for rtype, body in _records(stream, offset):
            if rtype == 0x0205 and len(body) >= 8 and body[7] == 1:  # BOOLERR, an error
                row, col = struct.unpack_from("<HH", body, 0)
                out[(row, col)] = XLS_ERROR_CODES.get(body[6], "#VALUE!")
            elif rtype == 0x0006 and len(body) >= 14:  # FORMULA: cached result
                row, col = struct.unpack_from("<HH", body, 0)
                res = body[6:14]
                if res[0] == 2 and res[6:8] == b"\xff\xff":
                    out[(row, col)] = XLS_ERROR_CODES.get(res[2], "#VALUE!")
        return out
    except (OSError, struct.error, IndexError, ValueError):
        return {}
