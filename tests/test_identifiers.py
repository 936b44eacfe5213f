"""Known-answer tests of the USCC (GB 32100-2015) checks.

Expected check characters are computed by hand below (the formula written
out independently of gis.identifiers) or are real published credit codes.
"""

import numpy as np
import pandas as pd

from gis.identifiers import (
    USCC_ALPHABET,
    USCC_WEIGHTS,
    is_valid_uscc,
    normalise_uscc,
    uscc_area_code,
    uscc_check_char,
    uscc_problem,
)

# Real, published codes (business licences): the check character must agree.
REAL = {
    "91330782147634358J": "义乌市第二石油有限公司 (Yiwu, 330782)",
    "91330782MA2E8E3Y2X": "义乌市综宏科技有限公司 (Yiwu, 330782)",
    "91330100716105852F": "阿里巴巴(中国)有限公司 (Hangzhou, 330100)",
    "914403001922038216": "华为技术有限公司 (Shenzhen, 440300)",
    "9144030071526726XG": "深圳市腾讯计算机系统有限公司 (Shenzhen, 440300)",
}


def test_weights_are_powers_of_three_mod_31():
    # GB 32100-2015 table of weights
    assert USCC_WEIGHTS.tolist() == [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    assert USCC_ALPHABET == "0123456789ABCDEFGHJKLMNPQRTUWXY"
    assert not set("IOSVZ") & set(USCC_ALPHABET)


def test_check_char_by_hand_for_a_yiwu_code():
    # 9 1 3 3 0 7 8 2 1 4 7 6 3 4 3 5 8  x  weights:
    # 9*1 + 1*3 + 3*9 + 3*27 + 0*19 + 7*26 + 8*16 + 2*17 + 1*20 + 4*29 + 7*25
    # + 6*13 + 3*8 + 4*24 + 3*10 + 5*30 + 8*28 = 1377 ; 1377 mod 31 = 13 ;
    # 31 - 13 = 18 -> alphabet[18] = 'J' (0-9 are 0-9, A=10 ... H=17, J=18)
    total = 9 + 3 + 27 + 81 + 0 + 182 + 128 + 34 + 20 + 116 + 175 + 78 + 24 + 96 + 30 + 150 + 224
    assert total == 1377 and (31 - total % 31) % 31 == 18
    assert uscc_check_char("91330782147634358") == "J"


def _reference_check(code17):
    """Independent formula: weights 3**i mod 31, check = (31 - sum mod 31) mod 31."""
    values = ["0123456789ABCDEFGHJKLMNPQRTUWXY".index(c) for c in code17]
    total = sum(v * pow(3, i, 31) for i, v in enumerate(values))
    return "0123456789ABCDEFGHJKLMNPQRTUWXY"[(31 - total % 31) % 31]


def test_letters_in_the_code_by_hand():
    # MA2E8E3Y2: M=21 A=10 2 E=14 8 E=14 3 Y=30 2 after 91330782
    assert _reference_check("91330782MA2E8E3Y2") == "X"
    assert uscc_check_char("91330782MA2E8E3Y2") == "X"


def test_real_published_codes_are_valid():
    codes = pd.Series(list(REAL))
    assert is_valid_uscc(codes).all()
    assert uscc_check_char(codes.str.slice(0, 17)).tolist() == codes.str[-1].tolist()
    assert uscc_area_code(codes).tolist() == ["330782", "330782", "330100", "440300", "440300"]


def test_vectorised_against_reference_on_random_codes():
    rng = np.random.default_rng(7)
    alphabet = np.array(list(USCC_ALPHABET))
    heads = ["".join(rng.choice(alphabet, 17)) for _ in range(300)]
    got = uscc_check_char(pd.Series(heads))
    assert got.tolist() == [_reference_check(h) for h in heads]


def test_problems_and_validity_aligned_to_index():
    s = pd.Series(
        [
            "91330782147634358J",  # valid
            "91330782147634358K",  # wrong check character
            "9133078214763435",  # 16 characters
            "91330782I47634358J",  # I is not allowed (GB 32100 excludes I, O, S, V, Z)
            None,
            "  ",
            "９１３３０７８２１４７６３４３５８ｊ",  # full-width, lower case: valid once normalised
            "9133 0782 1476 3435 8J",  # spaces
        ],
        index=[10, 11, 12, 13, 14, 15, 16, 17],
    )
    prob = uscc_problem(s)
    assert prob.index.tolist() == s.index.tolist()
    assert prob.tolist() == [None, "check_char", "length", "character", "missing", "missing", None, None]
    assert is_valid_uscc(s).tolist() == [True, False, False, False, False, False, True, True]
    assert normalise_uscc(s)[16] == "91330782147634358J"


def test_scalars():
    assert is_valid_uscc("91330782MA2E8E3Y2X") is True
    assert is_valid_uscc("91330782MA2E8E3Y2Y") is False
    assert uscc_problem("91330782MA2E8E3Y2Y") == "check_char"
    assert uscc_problem("91330782147634358J") is None
    assert uscc_area_code("91330782147634358J") == "330782"


def test_empty_input():
    assert uscc_problem(pd.Series([], dtype=object)).tolist() == []
    assert is_valid_uscc([]).tolist() == []
