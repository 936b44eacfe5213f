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
    with pytest.raises(ConfigError, match=r"chains.targetz: unknown key 'targetz'"):
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


# ---------------------------------------------------------------- checked at load (issue 18)
# Each bad value must fail in load_settings, naming its key, before any work.
BAD_SETTINGS = [
    ("renewal:\n  yearly_target_mu: 0\n", "renewal.yearly_target_mu: must be > 0, got 0"),
    ("renewal:\n  exemptions:\n    young: [low_farr]\n",
     "renewal.exemptions.young.low_farr: unknown rule"),
    ("efficiency:\n  class_shares: '0.25, 0.45, 0.25, 0.05'\n",
     "efficiency.class_shares: must be a list, got text"),
    ("efficiency:\n  cap_multiple: null\n", "efficiency.cap_multiple: must be a number, got null"),
    ("density:\n  kde:\n    radius_m: -500\n", "density.kde.radius_m: must be > 0, got -500"),
    ("efficiency:\n  class_shares: [0.5, 0.5, 0.5, 0.5]\n", "efficiency.class_shares: must be 4 shares"),
    ("attach:\n  snap_m: -3\n", "attach.snap_m: must be >= 0, got -3"),
    ("renewal:\n  far_exempt_chains: [光电显视]\n",
     "renewal.far_exempt_chains: unknown chain '光电显视'"),
    ("efficiency:\n  weights:\n    规上:\n      tax_per_muu: 30\n",
     "efficiency.weights.规上.tax_per_muu: unknown key"),
    ("engine:\n  partition_by: town\n", "engine.partition_by: must be one of township"),
    ("io:\n  enterprises:\n    coords: baidu\n", "io.enterprises.coords: must be wgs84"),
    ("io:\n  landuse:\n    dlbm_pattern: '(['\n", "io.landuse.dlbm_pattern: not a valid regular expression"),
]


@pytest.mark.parametrize("text,message", BAD_SETTINGS, ids=[m.split(":")[0] for _, m in BAD_SETTINGS])
def test_bad_setting_fails_at_load_naming_the_key(tmp_path, text, message):
    p = tmp_path / "bad.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(p)
    assert [q for q in info.value.problems if q.startswith(message)], info.value.problems
    assert len(info.value.problems) == 1
    assert info.value.source == str(p)


def test_every_problem_is_listed_at_once(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("renewal:\n  yearly_target_mu: 0\n  exemptions:\n    young: [low_farr]\n"
                 "density:\n  kde:\n    radius_m: -1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(p)
    keys = sorted(q.split(":")[0] for q in info.value.problems)
    assert keys == ["density.kde.radius_m", "renewal.exemptions.young.low_farr",
                    "renewal.yearly_target_mu"]


def test_a_checker_per_section_and_defaults_pass():
    from gis.config import CHECKERS, settings_problems

    s = default_settings()
    assert settings_problems(s) == []
    assert set(CHECKERS) <= set(s)


def test_programmatic_settings_are_checked_where_used():
    # settings built in code (not through load_settings) meet the same checker
    from gis.efficiency import zero_use_rule

    s = default_settings()
    s["efficiency"]["cap_multiple"] = None
    with pytest.raises(ConfigError, match="efficiency.cap_multiple"):
        zero_use_rule(s)


def test_cli_prints_one_line_per_problem_and_exits_2(tmp_path, capsys):
    from gis import cli

    p = tmp_path / "bad.yaml"
    p.write_text("renewal:\n  yearly_target_mu: 0\nefficiency:\n  cap_multiple: null\n",
                 encoding="utf-8")
    # the table does not exist: settings are checked before any input is read
    code = cli.main(["--settings", str(p), "report", "--enterprises", str(tmp_path / "none.xlsx"),
                     "--year", "2025", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in err
    assert any("renewal.yearly_target_mu" in line for line in lines)
    assert any("efficiency.cap_multiple" in line for line in lines)
    assert not (tmp_path / "out").exists()
