"""A smoke training run: one epoch on a few thousand images writes every file the app reads."""

import json
import subprocess
import sys

import numpy as np
import pytest

from mnist_app import config


@pytest.mark.slow
def test_smoke_training_writes_model_history_metrics_and_export(tmp_path):
    command = [sys.executable, "scripts/train.py", "--epochs", "1", "--limit", "5000", "--arch", "small",
               "--output-dir", str(tmp_path), "--verbose", "0"]
    result = subprocess.run(command, cwd=config.PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    for path in (config.model_path(tmp_path), config.onnx_path(tmp_path)):
        assert path.is_file() and path.stat().st_size > 10_000
    history = json.loads(config.history_path(tmp_path).read_text())
    epoch = history["epochs"][0]
    assert set(epoch) >= {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds"}
    metrics = json.loads(config.metrics_path(tmp_path).read_text())
    assert 0.5 < metrics["test_accuracy"] <= 1.0  # one small epoch already learns something
    assert np.array(metrics["confusion_matrix"]).sum() == 10000
    assert len(metrics["per_class"]) == 10 and metrics["arch"] == "small"
    assert metrics["training_images"] == 5000 and "scripts/train.py" in metrics["command"]
    assert {"tensorflow", "keras", "python"} <= set(metrics["versions"])
