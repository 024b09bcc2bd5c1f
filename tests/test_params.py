import dataclasses

import pytest
from omegaconf import OmegaConf

import sim
from sim.params import PARAMS, Config, ConfigError, validate

from .conftest import cfg

PUBLIC = """seed replications horizon_weeks area.residents area.officers area.baseline_trust area.baseline_trygghet
area.baseline_delaktighet area.problems area.problem_severity area.ties_per_resident police.effort
police.planned_hours_per_week police.training police.priority police.turnover_per_year police.competing_demand
promise.period_weeks promise.actions promise.citizen_weight promise.outreach feedback.interval_weeks feedback.reach
feedback.staff partners.share partners.reliability""".split()


def test_public_names_declared():
    assert set(PUBLIC) <= set(PARAMS)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_every_parameter_is_documented_and_default_in_bounds(name):
    p = PARAMS[name]
    assert p.unit and p.doc and p.source, name
    if p.type in (int, float):
        assert p.low is not None and p.high is not None and p.low < p.high, name
        assert p.low <= p.default <= p.high, name


def test_defaults_validate():
    validate(Config())


@pytest.mark.parametrize(
    "override,fragment",
    [
        ("police.effort=1.7", "police.effort: 1.7"),
        ("police.effort=-0.1", "police.effort: -0.1"),
        ("area.residents=10", "area.residents: 10"),
        ("area.residents=abc", "area.residents: 'abc'"),
        ("feedback.interval_weeks=2.5", "feedback.interval_weeks"),
        ("area.nonsense=1", "unknown parameter area.nonsense"),
        ("area=atlantis", "unknown area preset 'atlantis'"),
    ],
)
def test_bad_values_name_parameter_and_range(override, fragment):
    with pytest.raises(ConfigError) as e:
        cfg(override)
    assert fragment in str(e.value)


def test_bound_message_states_allowed_range():
    with pytest.raises(ConfigError, match=r"allowed: a number from 0 to 1.5"):
        cfg("police.effort=2")


def test_presets_compose_and_change_values():
    obs = cfg("scenario=observed_2018")
    full = cfg("scenario=full_implementation")
    none = cfg("scenario=no_promise")
    assert obs.police.effort < full.police.effort
    assert obs.feedback.interval_weeks > full.feedback.interval_weeks
    assert none.promise.active is False
    for area in ("default", "vulnerable_district", "suburb", "small_town"):
        assert cfg(f"area={area}").area.name == area


def test_to_config_accepts_dicts_and_rejects_out_of_range():
    ok = sim.to_config(OmegaConf.create({"police": {"effort": 0.3}}))
    assert ok.police.effort == 0.3
    # A plain dict is overrides: what it leaves out takes the default scenario's values, not the schema's.
    assert sim.to_config({"police": {"effort": 0.3}}) == sim.load_config(["police.effort=0.3"])
    with pytest.raises(ConfigError):
        sim.to_config(dataclasses.replace(Config(), replications=0))
    # a list or one string is overrides too, as sim.run takes them (both once gave OmegaConf's "Invalid input.
    # Supports one of [dict,list,...]" or "Cannot merge DictConfig with ListConfig")
    assert (
        sim.to_config(["police.effort=0.3"])
        == sim.to_config("police.effort=0.3")
        == sim.to_config({"police": {"effort": 0.3}})
    )


def test_a_partial_omegaconf_config_gets_its_scenarios_values_as_a_dict_does():
    """A partial OmegaConf config was merged onto the schema's defaults, which are no scenario's values (feedback
    every 13 weeks, not observed_2018's 52), while the same dict got the default scenario's."""
    partial = {"police": {"effort": 0.3}}
    assert sim.to_config(OmegaConf.create(partial)) == sim.to_config(partial) == sim.load_config(["police.effort=0.3"])
    full = sim.to_config(OmegaConf.create({"scenario": "full_implementation", "area": "suburb"}))
    assert full == sim.load_config(["scenario=full_implementation", "area=suburb"])
    # an interpolation resolves against the whole config, and one naming nothing is named, not 'invalid value None'
    linked = sim.to_config(OmegaConf.create({"police": {"effort": "${police.priority}"}}))
    assert linked.police.effort == linked.police.priority
    with pytest.raises(ConfigError, match=r"^cannot resolve police.effort: Interpolation key 'nope' not found$"):
        sim.to_config(OmegaConf.create({"police": {"effort": "${nope}"}}))
    complete = sim.load_config(["scenario=full_implementation"])  # a whole config is taken as it is
    assert sim.to_config(OmegaConf.structured(complete)) == complete


@pytest.mark.parametrize("given", [None, 3, "suburb"])
def test_a_model_or_replication_of_no_config_is_refused_in_one_line(given):
    """sim.PromiseModel(None) and sim.run_replication("x", 1) once ended in "AttributeError: 'NoneType' object has
    no attribute 'seed'" (or 'horizon_weeks'), naming neither the argument nor what it takes."""
    for call in (lambda: sim.PromiseModel(given), lambda: sim.run_replication(given, 1)):
        with pytest.raises(ConfigError, match=r"a config is a sim.Config|'suburb' needs a key: give key=value") as e:
            call()
        assert "\n" not in str(e.value)
    small = {"area.residents": 200, "horizon_weeks": 2}
    assert sim.run_replication(small, 1)["trajectories"].week.max() == 2  # overrides, as sim.run takes them
