"""Given / when / then for the Pipeline aggregate's rules."""

import math

import pytest

from domain.errors import InvalidValue, RuleViolation
from domain.meta import Meta
from domain.pipeline import Pipeline, Stage, StageExists, UnknownStage

META = Meta(actor="ana.sales", correlation_id="c-1", causation_id="cmd-1")

LEAD = Stage("lead", "Lead", 0.1)
QUALIFIED = Stage("qualified", "Qualified", 0.3)
PROPOSAL = Stage("proposal", "Proposal", 0.6)


def as_dicts(*stages):
    return [{"key": s.key, "name": s.name, "probability": s.probability} for s in stages]


def new_pipeline(*stages):
    pipeline = Pipeline.create(name="New business", stages=stages or (LEAD, QUALIFIED), meta=META)
    pipeline.collect_events()
    return pipeline


# -- Stage -------------------------------------------------------------------------------


def test_stage_trims_its_name_and_keeps_probability_as_float():
    stage = Stage("demo_2", "  Demo ", 1)
    assert (stage.key, stage.name, stage.probability) == ("demo_2", "Demo", 1.0)
    assert isinstance(stage.probability, float)


@pytest.mark.parametrize("key", ["", "Lead", "2nd", "_lead", "lead-1", "lead stage", "a" * 41, None, "won", "lost"])
def test_stage_key_must_be_a_slug_and_not_reserved(key):
    with pytest.raises(InvalidValue) as refused:
        Stage(key, "Name", 0.5)
    assert refused.value.code == "validation_error"


def test_stage_key_may_be_forty_characters():
    assert Stage("a" * 40, "Long", 0.5).key == "a" * 40


@pytest.mark.parametrize("name", ["", "   ", None])
def test_stage_needs_a_name(name):
    with pytest.raises(InvalidValue):
        Stage("lead", name, 0.5)


@pytest.mark.parametrize("probability", [-0.01, 1.01, math.nan, math.inf, "0.5", None, True])
def test_stage_probability_must_be_between_zero_and_one(probability):
    with pytest.raises(InvalidValue) as refused:
        Stage("lead", "Lead", probability)
    assert refused.value.code == "validation_error"


@pytest.mark.parametrize("probability", [0, 0.0, 0.5, 1, 1.0])
def test_stage_probability_bounds_are_inclusive(probability):
    assert Stage("lead", "Lead", probability).probability == float(probability)


# -- create ------------------------------------------------------------------------------


def test_created_pipeline_has_its_stages_in_order():
    pipeline = Pipeline.create(name="  New business ", stages=[LEAD, QUALIFIED], meta=META)
    [created] = pipeline.collect_events()
    assert isinstance(created, Pipeline.Created)
    assert created.name == "New business"
    assert created.stages == as_dicts(LEAD, QUALIFIED)
    assert created.meta == META
    assert pipeline.name == "New business"
    assert pipeline.stages == [LEAD, QUALIFIED]
    assert pipeline.stage_keys == ["lead", "qualified"]
    assert pipeline.first_stage == "lead"
    assert pipeline.version == 1


@pytest.mark.parametrize("name", ["", "   ", None])
def test_pipeline_needs_a_name(name):
    with pytest.raises(InvalidValue) as refused:
        Pipeline.create(name=name, stages=[LEAD], meta=META)
    assert refused.value.code == "validation_error"


def test_pipeline_needs_at_least_one_stage():
    with pytest.raises(InvalidValue, match="at least one stage"):
        Pipeline.create(name="Empty", stages=[], meta=META)


def test_pipeline_stage_keys_must_be_unique():
    with pytest.raises(InvalidValue, match="twice") as refused:
        Pipeline.create(name="Dup", stages=[LEAD, Stage("lead", "Other", 0.2)], meta=META)
    assert refused.value.code == "validation_error"


def test_pipeline_stages_must_be_stages():
    with pytest.raises(InvalidValue):
        Pipeline.create(name="Raw", stages=[{"key": "lead"}], meta=META)


# -- reads -------------------------------------------------------------------------------


def test_won_and_lost_are_implied_with_fixed_probabilities():
    pipeline = new_pipeline()
    assert pipeline.stage_keys == ["lead", "qualified"]
    assert pipeline.has_stage("won") and pipeline.has_stage("lost")
    assert pipeline.has_stage("lead")
    assert not pipeline.has_stage("proposal")
    assert pipeline.probability_of("won") == 1.0
    assert pipeline.probability_of("lost") == 0.0
    assert pipeline.probability_of("qualified") == 0.3
    assert pipeline.collect_events() == []


def test_probability_of_an_unknown_stage_is_refused():
    pipeline = new_pipeline()
    with pytest.raises(UnknownStage) as refused:
        pipeline.probability_of("proposal")
    assert refused.value.code == "unknown_stage"
    assert isinstance(refused.value, RuleViolation)


def test_stages_read_is_a_copy():
    pipeline = new_pipeline()
    pipeline.stages.append(PROPOSAL)
    assert pipeline.stage_keys == ["lead", "qualified"]


# -- add_stage ---------------------------------------------------------------------------


def test_added_stage_goes_last_by_default():
    pipeline = new_pipeline()
    pipeline.add_stage(PROPOSAL, META)
    [added] = pipeline.collect_events()
    assert isinstance(added, Pipeline.StageAdded)
    assert (added.key, added.name, added.probability, added.position) == (
        "proposal",
        "Proposal",
        0.6,
        2,
    )
    assert added.stages == as_dicts(LEAD, QUALIFIED, PROPOSAL)
    assert added.meta == META
    assert pipeline.stage_keys == ["lead", "qualified", "proposal"]
    assert pipeline.version == 2


@pytest.mark.parametrize(
    ("position", "order"),
    [(0, ["proposal", "lead", "qualified"]), (1, ["lead", "proposal", "qualified"])],
)
def test_added_stage_goes_at_the_position_asked(position, order):
    pipeline = new_pipeline()
    pipeline.add_stage(PROPOSAL, META, position=position)
    [added] = pipeline.collect_events()
    assert added.position == position
    assert [s["key"] for s in added.stages] == order
    assert pipeline.stage_keys == order
    assert pipeline.first_stage == order[0]


def test_adding_an_existing_stage_key_is_refused():
    pipeline = new_pipeline()
    with pytest.raises(StageExists) as refused:
        pipeline.add_stage(Stage("lead", "Another lead", 0.2), META)
    assert refused.value.code == "stage_exists"
    assert pipeline.collect_events() == []
    assert pipeline.stages == [LEAD, QUALIFIED]


@pytest.mark.parametrize("position", [-1, 3, 1.5, True])
def test_added_stage_position_must_be_within_the_list(position):
    pipeline = new_pipeline()
    with pytest.raises(InvalidValue) as refused:
        pipeline.add_stage(PROPOSAL, META, position=position)
    assert refused.value.code == "validation_error"
    assert pipeline.collect_events() == []


# -- rename_stage ------------------------------------------------------------------------


def test_renamed_stage_keeps_its_key_place_and_probability():
    pipeline = new_pipeline()
    pipeline.rename_stage("lead", "  Inbound lead ", META)
    [renamed] = pipeline.collect_events()
    assert isinstance(renamed, Pipeline.StageRenamed)
    assert (renamed.key, renamed.name) == ("lead", "Inbound lead")
    assert renamed.stages == as_dicts(Stage("lead", "Inbound lead", 0.1), QUALIFIED)
    assert pipeline.stages == [Stage("lead", "Inbound lead", 0.1), QUALIFIED]


def test_renaming_to_the_same_name_records_nothing():
    pipeline = new_pipeline()
    pipeline.rename_stage("lead", " Lead ", META)
    assert pipeline.collect_events() == []
    assert pipeline.version == 1


@pytest.mark.parametrize("key", ["proposal", "won", "lost"])
def test_renaming_an_unknown_stage_is_refused(key):
    pipeline = new_pipeline()
    with pytest.raises(UnknownStage) as refused:
        pipeline.rename_stage(key, "Anything", META)
    assert refused.value.code == "unknown_stage"
    assert pipeline.collect_events() == []


def test_renaming_a_stage_to_nothing_is_refused():
    pipeline = new_pipeline()
    with pytest.raises(InvalidValue):
        pipeline.rename_stage("lead", "  ", META)
    assert pipeline.collect_events() == []


# -- set_probability ---------------------------------------------------------------------


def test_stage_probability_can_change():
    pipeline = new_pipeline()
    pipeline.set_probability("qualified", 0.4, META)
    [changed] = pipeline.collect_events()
    assert isinstance(changed, Pipeline.StageProbabilityChanged)
    assert (changed.key, changed.probability) == ("qualified", 0.4)
    assert changed.stages == as_dicts(LEAD, Stage("qualified", "Qualified", 0.4))
    assert pipeline.probability_of("qualified") == 0.4


def test_setting_the_same_probability_records_nothing():
    pipeline = new_pipeline()
    pipeline.set_probability("qualified", 0.3, META)
    assert pipeline.collect_events() == []


@pytest.mark.parametrize("key", ["proposal", "won", "lost"])
def test_setting_the_probability_of_an_unknown_stage_is_refused(key):
    pipeline = new_pipeline()
    with pytest.raises(UnknownStage) as refused:
        pipeline.set_probability(key, 0.5, META)
    assert refused.value.code == "unknown_stage"
    assert pipeline.collect_events() == []


@pytest.mark.parametrize("probability", [-0.1, 1.5, math.nan])
def test_probability_out_of_range_is_refused(probability):
    pipeline = new_pipeline()
    with pytest.raises(InvalidValue) as refused:
        pipeline.set_probability("lead", probability, META)
    assert refused.value.code == "validation_error"
    assert pipeline.collect_events() == []
    assert pipeline.probability_of("lead") == 0.1


# -- reorder -----------------------------------------------------------------------------


def test_stages_can_be_reordered():
    pipeline = new_pipeline(LEAD, QUALIFIED, PROPOSAL)
    pipeline.reorder(["qualified", "proposal", "lead"], META)
    [reordered] = pipeline.collect_events()
    assert isinstance(reordered, Pipeline.StagesReordered)
    assert reordered.keys == ["qualified", "proposal", "lead"]
    assert reordered.stages == as_dicts(QUALIFIED, PROPOSAL, LEAD)
    assert pipeline.stages == [QUALIFIED, PROPOSAL, LEAD]
    assert pipeline.first_stage == "qualified"


def test_reordering_to_the_same_order_records_nothing():
    pipeline = new_pipeline(LEAD, QUALIFIED, PROPOSAL)
    pipeline.reorder(("lead", "qualified", "proposal"), META)
    assert pipeline.collect_events() == []


@pytest.mark.parametrize(
    "keys",
    [
        ["lead", "qualified"],
        ["lead", "qualified", "proposal", "won"],
        ["lead", "lead", "qualified"],
        ["lead", "qualified", "closing"],
        [],
    ],
)
def test_reorder_must_be_a_permutation_of_the_stages(keys):
    pipeline = new_pipeline(LEAD, QUALIFIED, PROPOSAL)
    with pytest.raises(InvalidValue) as refused:
        pipeline.reorder(keys, META)
    assert refused.value.code == "validation_error"
    assert pipeline.collect_events() == []
    assert pipeline.stage_keys == ["lead", "qualified", "proposal"]


# -- replay ------------------------------------------------------------------------------


def test_events_carry_absolute_lists_not_shared_with_the_aggregate():
    pipeline = Pipeline.create(name="Sales", stages=[LEAD], meta=META)
    [created] = pipeline.collect_events()
    created.stages.append({"key": "ghost", "name": "Ghost", "probability": 0.5})
    assert pipeline.stage_keys == ["lead"]


def test_pipeline_rebuilt_from_its_events_equals_the_live_one():
    live = Pipeline.create(name="Sales", stages=[LEAD, QUALIFIED], meta=META)
    live.add_stage(PROPOSAL, META, position=1)
    live.rename_stage("proposal", "Offer", META)
    live.set_probability("proposal", 0.5, META)
    live.reorder(["qualified", "lead", "proposal"], META)
    events = live.collect_events()
    rebuilt = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    assert rebuilt.__dict__ == live.__dict__
    assert rebuilt.stages == [QUALIFIED, LEAD, Stage("proposal", "Offer", 0.5)]


def test_every_event_class_has_its_own_stable_topic():
    classes = [
        Pipeline.Created,
        Pipeline.StageAdded,
        Pipeline.StageRenamed,
        Pipeline.StageProbabilityChanged,
        Pipeline.StagesReordered,
    ]
    # eventsourcing subclasses each event class, so "its own" shows as distinct values.
    topics = [cls.TOPIC for cls in classes]
    assert topics == [
        "crm.pipeline.created.v1",
        "crm.pipeline.stage_added.v1",
        "crm.pipeline.stage_renamed.v1",
        "crm.pipeline.stage_probability_changed.v1",
        "crm.pipeline.stages_reordered.v1",
    ]
    assert Pipeline.TOPIC == "crm.pipeline"
