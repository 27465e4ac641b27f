"""Runtime parameters never change the promotion rules."""

import pytest

from codepro_leads.errors import ConfigError
from codepro_leads.hooks import PromotionRulesHook


@pytest.mark.parametrize(
    ("runtime_params", "refused"),
    [
        ({"training": {"quality_floor": {"roc_auc": 0.0}}}, "training.quality_floor.roc_auc"),
        ({"training.quality_floor.recall": 0}, "training.quality_floor.recall"),
        ({"training": {"quality_floor": {}}}, "training.quality_floor"),
        (
            {"training": {"registry": {"tolerance": 1}}, "reason": "r"},
            "training.registry.tolerance",
        ),
    ],
)
def test_runtime_parameters_touching_the_floor_or_gate_are_refused(runtime_params, refused):
    with pytest.raises(ConfigError) as error:
        PromotionRulesHook().before_pipeline_run({"runtime_params": runtime_params})
    assert str(error.value) == (
        f"runtime parameter(s) {refused} refused: the quality floor and the promotion gate "
        "come from conf/ only (parameters_training.yml)"
    )


def test_other_runtime_parameters_pass():
    hook = PromotionRulesHook()
    hook.before_pipeline_run({"runtime_params": {"model_version": 3, "training": {"seed": 1}}})
    hook.before_pipeline_run({"runtime_params": None})
