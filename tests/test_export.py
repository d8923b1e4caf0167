"""Every export format agrees with the Keras model on the 10,000 test images."""

import json
import shutil

import pytest

from mnist_app import config
from mnist_app.store import results
from mnist_app.training import export


@pytest.mark.slow
def test_export_all_formats_agree_with_keras_on_every_test_image(tmp_path):
    shutil.copy(config.model_path(), config.model_path(tmp_path))
    report = export.export_all(tmp_path)
    assert set(report["exports"]) == {"keras", "saved_model", "tflite", "onnx"}
    for name, figures in report["exports"].items():
        assert figures["images"] == 10000, name
        assert figures["argmax_identical"] == 10000, name
        assert figures["max_abs_probability_difference"] <= export.PROBABILITY_TOLERANCE, name
    assert (tmp_path / "export" / "saved_model" / "1" / "saved_model.pb").is_file()
    manifest = json.loads((tmp_path / "export" / config.MANIFEST_FILENAME).read_text())
    assert results.exports_current(tmp_path) and manifest["exports"]["tflite"]["argmax_identical"] == 10000


def test_check_agreement_refuses_a_disagreeing_export():
    import numpy as np

    reference = np.eye(10)[[1, 2, 3]]
    with pytest.raises(RuntimeError, match="disagrees"):
        export.check_agreement(export.agreement(reference, np.eye(10)[[1, 2, 4]]), "A broken export")
    with pytest.raises(RuntimeError, match="disagrees"):
        export.check_agreement(export.agreement(reference, reference * 0.999 + 0.0001), "A drifting export")
