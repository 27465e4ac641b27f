"""TrackedPipelinesMlflowHook hands kedro-mlflow's hook each parameters input once per run."""

from __future__ import annotations

from types import SimpleNamespace

from codepro_leads.mlflow_hook import TrackedPipelinesMlflowHook


class _Recorder:
    def __init__(self) -> None:
        self.inputs: list[dict] = []

    def before_node_run(self, node, catalog, inputs, is_async) -> None:
        self.inputs.append(inputs)


def test_each_parameters_input_reaches_kedro_mlflow_once_per_run():
    hook, recorder = TrackedPipelinesMlflowHook(), _Recorder()
    hook.hook = recorder
    first = {"params:training": {"seed": 42}, "model_input_leads": "frame"}
    second = {"params:training": {"seed": 42}, "params:inference": 1, "model_input_leads": "frame"}
    hook.before_node_run(None, None, first, False)
    hook.before_node_run(None, None, second, False)
    assert recorder.inputs == [first, {"params:inference": 1, "model_input_leads": "frame"}]


def test_a_new_pipeline_run_logs_its_parameters_again():
    hook, recorder = TrackedPipelinesMlflowHook(), _Recorder()
    disabled = SimpleNamespace(pipelines=["demo_data"])
    tracking = SimpleNamespace(disable_tracking=disabled)
    hook.context = SimpleNamespace(mlflow=SimpleNamespace(tracking=tracking))
    inputs = {"params:training": {"seed": 42}}
    hook.hook = recorder
    hook.before_node_run(None, None, inputs, False)
    hook.before_pipeline_run({"pipeline_names": ["demo_data"]}, None, None)  # untracked
    assert hook.hook is None
    hook.hook = recorder
    hook.before_node_run(None, None, inputs, False)
    assert recorder.inputs == [inputs, inputs]
