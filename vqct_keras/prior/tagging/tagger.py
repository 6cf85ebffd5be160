"""NLTK's perceptron tagger and WordNet, loaded once, plus tag helpers."""

import functools
import re

import nltk

from vqct_keras.prior import nltk_resources

# Penn Treebank tags of closed-class words (determiners, prepositions,
# pronouns, modals, numbers, ...): never codebook words.
CLOSED_CLASS_TAGS = frozenset(
    "CC CD DT EX FW IN LS MD PDT POS PRP PRP$ RP SYM TO UH WDT WP WP$ "
    "WRB".split()
)
NOUN_TAGS = frozenset(("NN", "NNS", "NNP", "NNPS"))
ADJECTIVE_TAG = "JJ"

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def word_class(tag):
    """Coarse class of a Penn Treebank tag.

    Returns one of `"adj"` (`JJ` only, as the official code: comparatives
    and superlatives are not kept), `"noun"` (`NN*`), `"verb"` (`VB*`),
    `"adv"` (`RB*`), `"closed"` (closed-class tags) or `"other"`.

    Example:

    >>> [word_class(t) for t in ("JJ", "NNS", "VBD", "RB", "DT", "JJR")]
    ['adj', 'noun', 'verb', 'adv', 'closed', 'other']
    """
    if tag == ADJECTIVE_TAG:
        return "adj"
    if tag in NOUN_TAGS:
        return "noun"
    if tag.startswith("VB"):
        return "verb"
    if tag.startswith("RB"):
        return "adv"
    if tag in CLOSED_CLASS_TAGS:
        return "closed"
    return "other"


@functools.lru_cache(maxsize=1)
def load_tagger():
    """NLTK's English averaged perceptron tagger (one shared instance).

    Raises:
        NLTKResourceError: the tagger data is not installed; the message
            names the command that installs it.
    """
    nltk_resources.require_nltk_resources()
    return nltk.tag.PerceptronTagger()


@functools.lru_cache(maxsize=1)
def load_wordnet():
    """NLTK's WordNet reader, loaded (one shared instance)."""
    nltk_resources.require_nltk_resources()
    from nltk.corpus import wordnet

    wordnet.ensure_loaded()
    return wordnet


def tagger_provenance():
    """A description of the tagger and WordNet data for prior metadata."""
    return {
        "nltk_version": nltk.__version__,
        "tagger": "nltk.tag.PerceptronTagger (averaged_perceptron_tagger_eng)",
        "tagger_data": nltk_resources.resource_source(
            nltk_resources.TAGGER_RESOURCE
        ),
        "wordnet_data": nltk_resources.resource_source(
            nltk_resources.WORDNET_RESOURCE
        ),
        "wordnet_version": str(load_wordnet().get_version()),
    }


def tokenize(text):
    """Split text into lower-cased word lists, one per sentence.

    Lines are split at sentence-final punctuation followed by white space,
    then tokenised with NLTK's Treebank word tokenizer
    (`word_tokenize(..., preserve_line=True)`, which needs no Punkt data).

    Example:

    >>> tokenize("A red car. Two dogs!")
    [['a', 'red', 'car', '.'], ['two', 'dogs', '!']]
    """
    sentences = []
    for line in text.splitlines():
        for sentence in _SENTENCE_END.split(line.strip()):
            if sentence:
                words = nltk.word_tokenize(sentence, preserve_line=True)
                sentences.append([word.lower() for word in words])
    return sentences
