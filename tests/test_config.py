"""Settings: defaults, overrides, and errors that name the key."""

import pytest

from gis import ConfigError
from gis.chains import chain_of_codes
from gis.config import default_settings, load_settings


def test_defaults_have_chain_targets():
    s = default_settings()
    assert s["chains"]["targets_2030_yi"]["光电显示"] == 400
    assert s["chains"]["targets_2030_yi"]["新能源汽车及零部件"] == 700


def test_override_merges_and_keeps_other_keys(tmp_path):
    p = tmp_path / "my.yaml"
    p.write_text("chains:\n  targets_2030_yi:\n    光电显示: 450\n", encoding="utf-8")
    s = load_settings(p)
    assert s["chains"]["targets_2030_yi"]["光电显示"] == 450
    assert s["chains"]["targets_2030_yi"]["化妆品"] == 80


def test_unknown_key_is_named(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("chains:\n  targetz: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"unknown key 'chains.targetz'"):
        load_settings(p)


def test_wrong_type_is_named(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("chains:\n  targets_2030_yi:\n    光电显示: lots\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="光电显示.*number"):
        load_settings(p)


def test_bad_yaml_and_missing_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("chains: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(p)
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.yaml")


def test_chain_longest_prefix_wins():
    # C3974 (显示器件) is in 光电显示 even though C39 prefixes belong elsewhere;
    # codes without the section letter are accepted.
    got = chain_of_codes(["C3974", "3973", "C1811", "C2682", "C4411", "C3670", " c2231 "])
    assert list(got) == ["光电显示", "新型半导体", "纺织服装", "化妆品", "其他", "新能源汽车及零部件", "印刷包装"]


def test_user_can_add_a_chain(tmp_path):
    p = tmp_path / "chains.yaml"
    p.write_text(
        "chains:\n  chains:\n    低空经济: {kind: 战略性新兴, codes: [C3741]}\n", encoding="utf-8"
    )
    s = load_settings(p)
    assert list(chain_of_codes(["C3741"], settings=s)) == ["低空经济"]
