"""Make NLTK's tagger and WordNet available, online or offline.

The prior builder needs three NLTK resources: the English averaged
perceptron tagger (`taggers/averaged_perceptron_tagger_eng`), the map from
Penn Treebank tags to the universal tagset (`taggers/universal_tagset`) and
WordNet 3.0 (`corpora/wordnet`). `ensure_nltk_resources()` finds them on
`nltk.data.path`; a missing one is fetched with `nltk.download` when the
NLTK data server answers, and otherwise built from packages that the
package registries ship:

* the tagger from the `textblob-aptagger` wheel's `trontagger-0.1.0.pickle`
  (the WSJ-trained averaged perceptron that NLTK's tagger descends from,
  with the same features), read with a restricted unpickler and written in
  NLTK's JSON resource format;
* the universal tagset map from the table of Petrov et al. (2012) below;
* WordNet from Debian's `wordnet-base` and `wordnet-sense-index` packages
  (`/usr/share/wordnet`), copied (NLTK refuses links that leave its data
  root), plus the `lexnames` file that Debian does not ship.

When neither route works, `NLTKResourceError` names the command that fixes
it. The command `python training/install_nltk_data.py [--offline]` installs
the resources (`--offline` skips `nltk.download`).
"""

import hashlib
import importlib.util
import io
import json
import os
import pickle
import shutil
import socket
import sys
import urllib.parse

import nltk

from vqct_keras.utils import files

TAGGER_RESOURCE = "taggers/averaged_perceptron_tagger_eng/"
UNIVERSAL_TAGSET_RESOURCE = "taggers/universal_tagset/en-ptb.map"
WORDNET_RESOURCE = "corpora/wordnet/"

# nltk.download package id for each resource.
_DOWNLOAD_IDS = {
    TAGGER_RESOURCE: "averaged_perceptron_tagger_eng",
    UNIVERSAL_TAGSET_RESOURCE: "universal_tagset",
    WORDNET_RESOURCE: "wordnet",
}
TEXTBLOB_APTAGGER_REQUIREMENT = "textblob-aptagger==0.2.0"
TEXTBLOB_PICKLE = "trontagger-0.1.0.pickle"
DEBIAN_WORDNET_DIR = "/usr/share/wordnet"
DEBIAN_WORDNET_PACKAGES = ("wordnet-base", "wordnet-sense-index")
SOURCE_FILE = "vqct_source.json"

SETUP_COMMAND = "bash scripts/setup.sh"
TAGGER_FIX = (
    f"pip install --no-deps {TEXTBLOB_APTAGGER_REQUIREMENT} && "
    "python training/install_nltk_data.py"
)
WORDNET_FIX = (
    f"apt-get install -y {' '.join(DEBIAN_WORDNET_PACKAGES)} && "
    "python training/install_nltk_data.py"
)

# Penn Treebank tag -> universal tag (Petrov, Das and McDonald, 2012).
_PTB_TO_UNIVERSAL = {
    "!": ".",
    "#": ".",
    "$": ".",
    "''": ".",
    "(": ".",
    ")": ".",
    ",": ".",
    "-LRB-": ".",
    "-RRB-": ".",
    ".": ".",
    ":": ".",
    "?": ".",
    "``": ".",
    "CC": "CONJ",
    "CD": "NUM",
    "DT": "DET",
    "EX": "DET",
    "PDT": "DET",
    "WDT": "DET",
    "FW": "X",
    "LS": "X",
    "SYM": "X",
    "UH": "X",
    "IN": "ADP",
    "JJ": "ADJ",
    "JJR": "ADJ",
    "JJS": "ADJ",
    "MD": "VERB",
    "VB": "VERB",
    "VBD": "VERB",
    "VBG": "VERB",
    "VBN": "VERB",
    "VBP": "VERB",
    "VBZ": "VERB",
    "NN": "NOUN",
    "NNP": "NOUN",
    "NNPS": "NOUN",
    "NNS": "NOUN",
    "POS": "PRT",
    "RP": "PRT",
    "TO": "PRT",
    "PRP": "PRON",
    "PRP$": "PRON",
    "WP": "PRON",
    "WP$": "PRON",
    "RB": "ADV",
    "RBR": "ADV",
    "RBS": "ADV",
    "WRB": "ADV",
}

# WordNet 3.0 lexicographer files, in index order (see lexnames(5WN)).
_LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact "
    "noun.attribute noun.body noun.cognition noun.communication noun.event "
    "noun.feeling noun.food noun.group noun.location noun.motive noun.object "
    "noun.person noun.phenomenon noun.plant noun.possession noun.process "
    "noun.quantity noun.relation noun.shape noun.state noun.substance "
    "noun.time verb.body verb.change verb.cognition verb.communication "
    "verb.competition verb.consumption verb.contact verb.creation "
    "verb.emotion verb.motion verb.perception verb.possession verb.social "
    "verb.stative verb.weather adj.ppl"
).split()
_SYNTACTIC_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
_WORDNET_FILES = (
    "cntlist.rev",
    "index.sense",
    "index.adj",
    "index.adv",
    "index.noun",
    "index.verb",
    "data.adj",
    "data.adv",
    "data.noun",
    "data.verb",
    "adj.exc",
    "adv.exc",
    "noun.exc",
    "verb.exc",
)


class NLTKResourceError(LookupError):
    """An NLTK resource is missing and could not be downloaded or built."""


def default_data_dir():
    """The NLTK data folder this module writes to.

    `<sys.prefix>/nltk_data` (inside the virtual environment, and on NLTK's
    default search path) when writable, else `~/nltk_data`.
    """
    candidate = os.path.join(sys.prefix, "nltk_data")
    parent = candidate if os.path.isdir(candidate) else sys.prefix
    if os.access(parent, os.W_OK):
        return candidate
    return os.path.join(os.path.expanduser("~"), "nltk_data")


def has_resource(resource):
    """Whether `nltk.data.find(resource)` succeeds."""
    try:
        nltk.data.find(resource)
    except LookupError:
        return False
    return True


def nltk_server_reachable(timeout=3.0):
    """Whether the NLTK data server accepts a TCP connection, quickly.

    `nltk.download` has no timeout of its own; this check keeps an offline
    machine from waiting on it.
    """
    url = urllib.parse.urlparse(nltk.downloader.Downloader.DEFAULT_URL)
    try:
        with socket.create_connection((url.hostname, 443), timeout=timeout):
            return True
    except OSError:
        return False


def textblob_aptagger_pickle_path():
    """Path of `trontagger-0.1.0.pickle`, or `None` if not installed.

    The package is located without importing it (it does not import on
    current TextBlob releases).
    """
    spec = importlib.util.find_spec("textblob_aptagger")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = os.path.join(folder, TEXTBLOB_PICKLE)
        if os.path.isfile(path):
            return path
    return None


class _PlainDataUnpickler(pickle.Unpickler):
    """Unpickler that builds only plain containers (no code runs)."""

    _ALLOWED = {
        ("__builtin__", "set"): set,
        ("builtins", "set"): set,
        ("__builtin__", "frozenset"): frozenset,
        ("builtins", "frozenset"): frozenset,
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[(module, name)]
        raise pickle.UnpicklingError(
            f"Refusing to load {module}.{name} from a tagger pickle."
        )


def read_textblob_tagger(path):
    """Read `(weights, tagdict, classes)` from textblob-aptagger's pickle."""
    with open(path, "rb") as file:
        data = file.read()
    loaded = _PlainDataUnpickler(io.BytesIO(data), encoding="latin1").load()
    if not (isinstance(loaded, tuple) and len(loaded) == 3):
        raise NLTKResourceError(
            f"{path} does not hold a (weights, tagdict, classes) tuple."
        )
    weights, tagdict, classes = loaded
    if not (isinstance(weights, dict) and isinstance(tagdict, dict)):
        raise NLTKResourceError(f"{path} is not an averaged perceptron.")
    digest = hashlib.sha256(data).hexdigest()
    return weights, tagdict, sorted(classes), digest


def build_tagger_resource(data_dir, pickle_path=None):
    """Write NLTK's English tagger resource from textblob-aptagger's pickle.

    Args:
        data_dir: str. An NLTK data folder.
        pickle_path: str. The pickle; defaults to the installed package's.

    Returns:
        The resource folder.
    """
    pickle_path = pickle_path or textblob_aptagger_pickle_path()
    if pickle_path is None:
        raise NLTKResourceError(
            "NLTK's averaged perceptron tagger is not installed and could "
            "not be downloaded, and the textblob-aptagger package it can be "
            f"built from is missing. Fix: `{TAGGER_FIX}` (or "
            f"`{SETUP_COMMAND}`)."
        )
    weights, tagdict, classes, digest = read_textblob_tagger(pickle_path)
    folder = os.path.join(data_dir, *TAGGER_RESOURCE.strip("/").split("/"))
    os.makedirs(folder, exist_ok=True)
    name = "averaged_perceptron_tagger_eng"
    for suffix, value in (
        ("weights", weights),
        ("tagdict", tagdict),
        ("classes", classes),
    ):
        path = os.path.join(folder, f"{name}.{suffix}.json")
        with files.atomic_open(path) as file:
            json.dump(value, file, sort_keys=True)
    _write_source(
        folder,
        {
            "source": TEXTBLOB_APTAGGER_REQUIREMENT + "/" + TEXTBLOB_PICKLE,
            "sha256": digest,
        },
    )
    return folder


def build_universal_tagset_resource(data_dir):
    """Write `taggers/universal_tagset/en-ptb.map`."""
    folder = os.path.join(data_dir, "taggers", "universal_tagset")
    os.makedirs(folder, exist_ok=True)
    lines = [f"{fine}\t{coarse}" for fine, coarse in _PTB_TO_UNIVERSAL.items()]
    with open(os.path.join(folder, "en-ptb.map"), "w") as file:
        file.write("\n".join(lines) + "\n")
    _write_source(folder, {"source": "Petrov et al. 2012 table"})
    return folder


def build_wordnet_resource(data_dir, source_dir=DEBIAN_WORDNET_DIR):
    """Copy Debian's WordNet 3.0 into `corpora/wordnet/` and add `lexnames`."""
    missing = [
        name
        for name in _WORDNET_FILES
        if not os.path.isfile(os.path.join(source_dir, name))
    ]
    if missing:
        raise NLTKResourceError(
            "WordNet is not installed for NLTK and could not be downloaded; "
            f"Debian's WordNet files {missing} are missing from "
            f"{source_dir}. Fix: `{WORDNET_FIX}` (or `{SETUP_COMMAND}`)."
        )
    folder = os.path.join(data_dir, "corpora", "wordnet")
    os.makedirs(folder, exist_ok=True)
    for name in _WORDNET_FILES:
        shutil.copyfile(
            os.path.join(source_dir, name), os.path.join(folder, name)
        )
    with open(os.path.join(folder, "lexnames"), "w") as file:
        for index, lexname in enumerate(_LEXNAMES):
            category = _SYNTACTIC_CATEGORY[lexname.split(".")[0]]
            file.write(f"{index:02d}\t{lexname}\t{category}\n")
    _write_source(
        folder,
        {"source": "Debian " + " ".join(DEBIAN_WORDNET_PACKAGES)},
    )
    return folder


def _write_source(folder, record):
    with open(os.path.join(folder, SOURCE_FILE), "w") as file:
        json.dump(record, file, sort_keys=True)


def resource_source(resource):
    """Where an installed resource came from, for provenance metadata."""
    try:
        path = nltk.data.find(resource)
    except LookupError:
        return None
    folder = str(path)
    if not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    record_path = os.path.join(folder, SOURCE_FILE)
    if os.path.isfile(record_path):
        with open(record_path) as file:
            return json.load(file)
    return {"source": "nltk_data", "path": folder}


_BUILDERS = {
    TAGGER_RESOURCE: build_tagger_resource,
    UNIVERSAL_TAGSET_RESOURCE: build_universal_tagset_resource,
    WORDNET_RESOURCE: build_wordnet_resource,
}


def ensure_nltk_resources(download=True, data_dir=None, quiet=True):
    """Make the tagger, universal tagset map and WordNet available to NLTK.

    Each resource already on `nltk.data.path` is used as it is. A missing
    one is downloaded with `nltk.download` when `download` is true and the
    NLTK data server is reachable; otherwise it is built offline (see the
    module docstring).

    Args:
        download: bool. Try `nltk.download` first. Defaults to `True`.
        data_dir: str. NLTK data folder to write to. Defaults to
            `default_data_dir()`; it is added to `nltk.data.path`.
        quiet: bool. Silence `nltk.download`. Defaults to `True`.

    Returns:
        dict mapping each resource name to how it was obtained: `"found"`,
        `"downloaded"` or `"built"`.

    Raises:
        NLTKResourceError: a resource is missing and cannot be obtained;
            the message names the install command.

    Example:

    >>> status = ensure_nltk_resources(download=False)
    >>> len(status), set(status.values()) <= {"found", "built"}
    (3, True)
    """
    data_dir = data_dir or default_data_dir()
    if data_dir not in nltk.data.path:
        nltk.data.path.append(data_dir)
    status = {}
    reachable = None
    for resource, build in _BUILDERS.items():
        if has_resource(resource):
            status[resource] = "found"
            continue
        if download:
            if reachable is None:
                reachable = nltk_server_reachable()
            if reachable:
                try:
                    nltk.download(
                        _DOWNLOAD_IDS[resource],
                        download_dir=data_dir,
                        quiet=quiet,
                        raise_on_error=True,
                    )
                except (OSError, ValueError):
                    pass
                if has_resource(resource):
                    status[resource] = "downloaded"
                    continue
        build(data_dir)
        if not has_resource(resource):
            raise NLTKResourceError(
                f"Built {resource} under {data_dir}, but NLTK does not find "
                f"it there (nltk.data.path={nltk.data.path}). Fix: "
                f"`{SETUP_COMMAND}`."
            )
        status[resource] = "built"
    return status


def require_nltk_resources():
    """Raise `NLTKResourceError` naming the fix if a resource is missing.

    Unlike `ensure_nltk_resources`, this neither downloads nor builds.
    """
    data_dir = default_data_dir()
    if os.path.isdir(data_dir) and data_dir not in nltk.data.path:
        nltk.data.path.append(data_dir)
    missing = [r for r in _BUILDERS if not has_resource(r)]
    if missing:
        raise NLTKResourceError(
            f"Missing NLTK data {missing}. Fix: "
            "`python training/install_nltk_data.py` (downloads them, or "
            f"builds them offline; needs `pip install --no-deps "
            f"{TEXTBLOB_APTAGGER_REQUIREMENT}` and `apt-get install -y "
            f"{' '.join(DEBIAN_WORDNET_PACKAGES)}`), or `{SETUP_COMMAND}`."
        )
