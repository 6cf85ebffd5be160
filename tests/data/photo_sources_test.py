import os
import subprocess
import sys

from vqct_keras.data import photo_sources


def test_each_photo_has_one_split_fixed_by_name():
    paths = photo_sources.candidate_paths()
    assert photo_sources.TEST_SOURCES <= set(paths)
    sources = photo_sources.find_photo_sources()
    for source in sources:
        expected = (
            "test"
            if source.source_id in photo_sources.TEST_SOURCES
            else "train"
        )
        assert source.split == expected
    assert len({source.path for source in sources}) == len(sources)


def test_fingerprint_script_needs_no_tensorflow():
    root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    script = os.path.join(root, "training", "data_fingerprint.py")
    output = subprocess.run(
        [sys.executable, "-X", "importtime", script],
        capture_output=True,
        text=True,
        check=True,
    )
    assert output.stdout.strip() == photo_sources.sources_fingerprint()
    assert "tensorflow" not in output.stderr


def test_every_photo_group_has_a_licence():
    groups = {
        source_id.split("/")[0] for source_id in photo_sources.candidate_paths()
    }
    assert groups <= set(photo_sources.LICENSES)


def test_fingerprint_changes_with_the_data_version(monkeypatch):
    # A machine that keeps data from an older definition prepares it again:
    # scripts/setup.d/40-images.sh compares this line with its stamp.
    before = photo_sources.sources_fingerprint()
    assert before.startswith(photo_sources.DATA_VERSION + ";")
    monkeypatch.setattr(photo_sources, "DATA_VERSION", "older definition")
    assert photo_sources.sources_fingerprint() != before
