"""Colour-vision deficiency simulation and CIEDE2000 colour difference (numpy).

Used by tests/test_maps.py to check that map palettes stay distinguishable.

- Dichromacy simulation: Machado, Oliveira & Fernandes (2009), "A
  Physiologically-based Model for Simulation of Color Vision Deficiency",
  IEEE Transactions on Visualization and Computer Graphics 15(6):1291-1298;
  the severity-1.0 matrices published with the paper
  (https://www.inf.ufrgs.br/~oliveira/pubs_files/CVD_Simulation/CVD_Simulation.html),
  applied to linear RGB.
- sRGB <-> linear and sRGB -> CIELAB (D65): IEC 61966-2-1.
- CIEDE2000: Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference
  formula: implementation notes, supplementary test data, and mathematical
  observations", Color Research & Application 30(1):21-30 (test pairs used in
  tests/test_maps.py come from its Table 1).
"""

from __future__ import annotations

import numpy as np

MACHADO_2009 = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779],
                            [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}


def hex_to_rgb(colours):
    """``["#rrggbb", ...]`` -> array (n, 3) of sRGB in 0..1."""
    return np.array([[int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)] for c in colours])


def srgb_to_linear(rgb):
    rgb = np.asarray(rgb, dtype=float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(lin):
    lin = np.clip(np.asarray(lin, dtype=float), 0, 1)
    return np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * lin ** (1 / 2.4) - 0.055)


def simulate(rgb, kind):
    """sRGB colours as seen with ``kind`` ("normal", "protanopia", "deuteranopia", "tritanopia")."""
    if kind == "normal":
        return np.asarray(rgb, dtype=float)
    lin = srgb_to_linear(rgb)
    return linear_to_srgb(lin @ MACHADO_2009[kind].T)


def srgb_to_lab(rgb):
    """sRGB (0..1) -> CIELAB, D65 white."""
    lin = srgb_to_linear(rgb)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)


def delta_e2000(lab1, lab2):
    """CIEDE2000 difference of CIELAB colours (broadcasting), kL = kC = kH = 1."""
    lab1, lab2 = np.asarray(lab1, dtype=float), np.asarray(lab2, dtype=float)
    L1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    L2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar ** 7 / (c_bar ** 7 + 25.0 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dLp = L2 - L1
    dCp = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0, dh)
    dHp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    Lp = (L1 + L2) / 2
    Cp = (c1p + c2p) / 2
    hsum = h1p + h2p
    hp = np.where(np.abs(h1p - h2p) <= 180, hsum / 2,
                  np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2))
    hp = np.where(c1p * c2p == 0, hsum, hp)
    t = (1 - 0.17 * np.cos(np.radians(hp - 30)) + 0.24 * np.cos(np.radians(2 * hp))
         + 0.32 * np.cos(np.radians(3 * hp + 6)) - 0.20 * np.cos(np.radians(4 * hp - 63)))
    d_theta = 30 * np.exp(-(((hp - 275) / 25) ** 2))
    rc = 2 * np.sqrt(Cp ** 7 / (Cp ** 7 + 25.0 ** 7))
    sl = 1 + 0.015 * (Lp - 50) ** 2 / np.sqrt(20 + (Lp - 50) ** 2)
    sc = 1 + 0.045 * Cp
    sh = 1 + 0.015 * Cp * t
    rt = -np.sin(np.radians(2 * d_theta)) * rc
    return np.sqrt((dLp / sl) ** 2 + (dCp / sc) ** 2 + (dHp / sh) ** 2
                   + rt * (dCp / sc) * (dHp / sh))


def min_pairwise_delta_e(colours, kind="normal"):
    """(smallest CIEDE2000 difference between any two ``colours`` as seen with ``kind``, the pair)."""
    lab = srgb_to_lab(simulate(hex_to_rgb(colours), kind))
    best = (np.inf, None)
    for i in range(len(colours)):
        for j in range(i + 1, len(colours)):
            d = float(delta_e2000(lab[i], lab[j]))
            if d < best[0]:
                best = (d, (colours[i], colours[j]))
    return best
