"""Rebuild the vendored CJK fallback font ``YiwuGISSansSC-Regular.otf``.

The toolkit's charts need a font with Chinese glyphs.  Planners' machines
have one (Microsoft YaHei / SimHei on Windows, PingFang on macOS, Noto Sans
CJK on Debian/Ubuntu with ``fonts-noto-cjk``); for machines that have none,
the package ships this fallback: **Noto Sans CJK SC Regular** (SIL Open
Font License 1.1, see ``OFL.txt``) subset to the GBK character set (GB 2312
and the 21 000 hanzi of CP936, the code page every name typed on a Chinese
Windows machine is in: firm names such as 璟, 堃, 玥 that GB 2312 lacks),
ASCII and Latin-1, about 5 MB.  The family is
renamed "YiwuGIS Sans SC" so that matplotlib never confuses the subset with
a full installed Noto Sans CJK SC.

Run (needs fontTools and the Debian font file)::

    python gis/fonts/build_subset.py [/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc]
"""

import sys
from pathlib import Path

SOURCE = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
FAMILY = "YiwuGIS Sans SC"
PS_NAME = "YiwuGISSansSC-Regular"
OUT = Path(__file__).with_name(PS_NAME + ".otf")


def subset_characters():
    """Return the characters kept: GBK (⊇ GB 2312), ASCII, Latin-1 and a few symbols."""
    chars = set()
    for hi in range(0x81, 0xFF):
        for lo in range(0x40, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gbk"))
            except UnicodeDecodeError:
                pass
    chars |= {chr(c) for c in range(0x20, 0x7F)}
    chars |= {chr(c) for c in range(0xA0, 0x180)}
    chars |= set("²³·—–‘’“”…‰※℃←↑→↓√∞≤≥①②③④⑤⑥⑦⑧⑨⑩、。〈〉《》「」『』【】〔〕～￥㎡")
    return chars


def main(source=SOURCE):
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    coll = TTCollection(source)
    font = next(f for f in coll.fonts if f["name"].getDebugName(1) == "Noto Sans CJK SC")
    opts = subset.Options()
    opts.layout_features = ["kern", "vert", "vrt2", "palt"]
    opts.hinting = False
    opts.notdef_outline = True
    opts.name_IDs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14]
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=[ord(c) for c in subset_characters()])
    sub.subset(font)
    name = font["name"]
    for rec in list(name.names):
        if rec.nameID in (16, 17, 21, 22):
            name.removeNames(nameID=rec.nameID)
    name.setName(FAMILY, 1, 3, 1, 0x409)
    name.setName("Regular", 2, 3, 1, 0x409)
    name.setName(f"{FAMILY} Regular", 4, 3, 1, 0x409)
    name.setName(PS_NAME, 6, 3, 1, 0x409)
    name.setName(f"{PS_NAME};subset-of-NotoSansCJKsc-Regular-2.004", 3, 3, 1, 0x409)
    name.setName(
        "Subset of Noto Sans CJK SC Regular (GBK + Latin-1) for the yiwu-gis "
        "toolkit charts; SIL Open Font License 1.1.",
        10, 3, 1, 0x409,
    )
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [PS_NAME]
        top = cff.topDictIndex[0]
        top.FullName = f"{FAMILY} Regular"
        top.FamilyName = FAMILY
    font.save(OUT)
    print(f"{OUT}: {OUT.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main(*sys.argv[1:])
