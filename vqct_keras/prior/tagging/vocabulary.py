"""Part of speech of isolated words, for a prior built from a vocabulary.

When the prior comes from a tokenizer's vocabulary there is no sentence to
tag a word in, and NLTK's tagger alone, on a word in isolation, calls most
adjectives nouns (`pink`, `fluffy`, `tall` come out `NN`). `VocabularyTagger`
combines two kinds of evidence:

* the tagger, run on the word placed in a few short context templates
  (isolation, a predicate-adjective slot, an attributive slot, a
  subject-noun slot and a verb slot), as votes per class;
* WordNet: the sense-tagged frequency (`Lemma.count()`, plus one per sense)
  of each part of speech the word can have.

The class with the highest `vote share + wordnet_weight * WordNet share`
wins; only adjectives and nouns that WordNet also lists with that part of
speech are kept. Rejected outright: closed-class words (the tagger says
`DT`, `IN`, `PRP`, `MD`, `CD`, ...), determiner-like adjectives and
ordinals (`many`, `other`, `first`, ...), number words (`ten`) and
comparatives or superlatives (`JJR`, `JJS`).

A past participle or gerund that WordNet lists as an adjective or noun in
its own right (`striped`, `building`) weighs that reading against one verb
form's share of its verb's frequency, and the tagger's participle tags
(which it gives any unknown `-ed` word) do not vote. Nouns are lemmatised
to the singular. By default only nouns with a (non-instance) sense in a
concrete WordNet category (animals, artifacts, body, food, objects, people,
places, plants, substances, ...) and adjectives that are not only
relational (`adj.pert`: "solar", "administrative") are kept.

Run `python training/evaluate_tagging.py` for the accuracy on the
hand-labelled words in `labelled_words.py`.
"""

import collections
import dataclasses

import tqdm

from vqct_keras.prior.tagging import tagger as tagger_lib

DEFAULT_TEMPLATES = (
    "{word}",
    "it is {word} .",
    "a {word} one .",
    "the {word} is here .",
    "they {word} it .",
)
DEFAULT_WORDNET_WEIGHT = 2.0
# Determiner-like adjectives and quantifiers: tagged JJ but closed-class.
# Determiner-like adjectives, quantifiers and ordinals: tagged JJ but
# closed-class.
DETERMINER_LIKE_WORDS = frozenset(
    "many much more most few fewer less least several other another same "
    "such own various certain enough whole entire first second third last "
    "next former latter".split()
)
# Comparative and superlative tags: the official code keeps `JJ` only.
GRADED_TAGS = frozenset(("JJR", "JJS", "RBR", "RBS"))
PARTICIPLE_TAGS = frozenset(("VBD", "VBG", "VBN"))
# A verb lemma's WordNet frequency covers all its forms (base, -s, past,
# participle, -ing): an inflected form gets this share of it.
VERB_FORMS = 4
# WordNet lexicographer files of nouns that name things one can see.
VISUAL_NOUN_LEXNAMES = frozenset(
    (
        "noun.Tops",
        "noun.animal",
        "noun.artifact",
        "noun.body",
        "noun.food",
        "noun.location",
        "noun.object",
        "noun.person",
        "noun.phenomenon",
        "noun.plant",
        "noun.shape",
        "noun.substance",
    )
)
WORD_FILTERS = ("visual", "none")
_WORDNET_POS = (("n", "noun"), ("v", "verb"), ("a", "adj"), ("r", "adv"))
# Tie-breaking order between classes with equal scores.
_CLASS_ORDER = ("noun", "adj", "verb", "adv", "other", "closed")


@dataclasses.dataclass(frozen=True)
class WordDecision:
    """The class given to one word, and why.

    Args:
        word: str. The word as given.
        part_of_speech: str or None. `"adj"`, `"noun"`, or `None` when the
            word is rejected.
        lemma: str. The codebook entry: the singular for nouns, else the
            word itself.
        reason: str. A short explanation (for debugging and reports).
    """

    word: str
    part_of_speech: str
    lemma: str
    reason: str


class VocabularyTagger:
    """Classifies isolated words as adjectives, nouns or neither.

    Args:
        templates: tuple of str. Context templates with a `{word}` slot;
            each is tagged with NLTK's perceptron tagger. The isolated word
            (`"{word}"`) is always one of them. Defaults to
            `DEFAULT_TEMPLATES`.
        wordnet_weight: float. Weight of the WordNet sense-frequency share
            against the template vote share. Defaults to `2.0`.
        word_filter: str. `"visual"` keeps nouns with a sense in
            `VISUAL_NOUN_LEXNAMES` that is not a named instance (cities,
            people) and adjectives with a sense that is not only relational
            (`adj.pert`: "solar", "administrative"); `"none"` keeps every
            adjective and noun. Defaults to `"visual"`.
        min_length: int. Shorter words are rejected. Defaults to `3`.

    Example:

    >>> tagger = VocabularyTagger()
    >>> decisions = tagger.classify(["fluffy", "dogs", "the"])
    >>> [(d.part_of_speech, d.lemma) for d in decisions]
    [('adj', 'fluffy'), ('noun', 'dog'), (None, 'the')]
    """

    def __init__(
        self,
        templates=DEFAULT_TEMPLATES,
        wordnet_weight=DEFAULT_WORDNET_WEIGHT,
        word_filter="visual",
        min_length=3,
    ):
        if word_filter not in WORD_FILTERS:
            raise ValueError(
                f"word_filter must be one of {WORD_FILTERS}; got "
                f"{word_filter!r}."
            )
        templates = tuple(templates)
        for template in templates:
            if template.split().count("{word}") != 1:
                raise ValueError(
                    "Each template needs exactly one `{word}` token; got "
                    f"{template!r}."
                )
        if "{word}" not in templates:
            templates = ("{word}",) + templates
        self.templates = templates
        self.wordnet_weight = float(wordnet_weight)
        self.word_filter = word_filter
        self.min_length = int(min_length)
        self._tagger = tagger_lib.load_tagger()
        self._wordnet = tagger_lib.load_wordnet()
        from nltk.stem import WordNetLemmatizer

        self._lemmatizer = WordNetLemmatizer()

    def config(self):
        """The settings, for the prior's metadata."""
        return {
            "templates": list(self.templates),
            "wordnet_weight": self.wordnet_weight,
            "word_filter": self.word_filter,
            "min_length": self.min_length,
            "verb_forms": VERB_FORMS,
            "determiner_like_words": sorted(DETERMINER_LIKE_WORDS),
            "visual_noun_lexnames": sorted(VISUAL_NOUN_LEXNAMES),
        }

    def template_tags(self, word):
        """The tagger's tag for `word` in each template."""
        tags = []
        for template in self.templates:
            tokens = template.split()
            slot = tokens.index("{word}")
            tokens[slot] = word
            tags.append(self._tagger.tag(tokens)[slot][1])
        return tags

    def wordnet_evidence(self, word):
        """Sense-frequency score per class from WordNet.

        Each sense of the word's base form (found with `morphy`) adds its
        tagged count plus one to its class. For an inflected verb form that
        WordNet also lists as a noun or adjective in its own right
        (`building`, `striped`), nouns and adjectives count only the senses
        of the form itself and the verb gets `1 / VERB_FORMS` of its lemma's
        score, the share of one of its forms.

        Returns:
            `(scores, inflected)`: a `Counter` and whether the rule above
            applied.
        """
        scores = collections.Counter()
        exact = collections.Counter()
        for pos, name in _WORDNET_POS:
            base = self._wordnet.morphy(word, pos)
            if base is None:
                continue
            for lemma in self._wordnet.lemmas(base, pos=pos):
                weight = lemma.count() + 1
                scores[name] += weight
                if base == word:
                    exact[name] += weight
        inflected = (
            scores["verb"] > 0
            and self._wordnet.morphy(word, "v") != word
            and (exact["noun"] > 0 or exact["adj"] > 0)
        )
        if inflected:
            verb = scores["verb"] / VERB_FORMS
            scores = collections.Counter(
                {name: exact[name] for name in ("noun", "adj", "adv")}
            )
            scores["verb"] = verb
        return +scores, inflected

    def is_number_word(self, word):
        """Whether the word's main adjective sense is a cardinal or ordinal
        number (`ten`, `fourth`): a satellite of WordNet's `cardinal` or
        `ordinal` adjective."""
        synsets = self._wordnet.synsets(word, pos="a")
        if not synsets:
            return False
        heads = synsets[0].similar_tos() if synsets[0].pos() == "s" else []
        return any(
            head.name().split(".")[0] in ("cardinal", "ordinal")
            for head in heads
        )

    def is_visual_noun(self, lemma):
        """Whether a noun sense is in `VISUAL_NOUN_LEXNAMES` and is not a
        named instance."""
        return any(
            synset.lexname() in VISUAL_NOUN_LEXNAMES
            and not synset.instance_hypernyms()
            for synset in self._wordnet.synsets(lemma, pos="n")
        )

    def is_visual_adjective(self, word):
        """Whether an adjective sense is not a relational one (`adj.pert`)."""
        return any(
            synset.lexname() != "adj.pert"
            for synset in self._wordnet.synsets(word, pos="a")
        )

    def classify_word(self, word):
        """Decide the class of one word; returns a `WordDecision`."""
        word = str(word).strip().lower()

        def reject(reason):
            return WordDecision(word, None, word, reason)

        if len(word) < self.min_length or not word.isalpha():
            return reject("too short or not alphabetic")
        if word in DETERMINER_LIKE_WORDS:
            return reject("determiner-like word")
        tags = self.template_tags(word)
        isolated = tags[self.templates.index("{word}")]
        classes = [tagger_lib.word_class(tag) for tag in tags]
        if tagger_lib.word_class(isolated) == "closed" or (
            2 * classes.count("closed") > len(classes)
        ):
            return reject(f"closed-class tags {tags}")
        if isolated in GRADED_TAGS:
            return reject(f"comparative or superlative: tags {tags}")
        if self.is_number_word(word):
            return reject("cardinal or ordinal number")
        wordnet_scores, inflected = self.wordnet_evidence(word)
        votes = classes
        if inflected:
            # In isolation the tagger cannot tell a participial adjective
            # from a participle: its participle tags do not vote.
            votes = [
                name
                for name, tag in zip(classes, tags)
                if tag not in PARTICIPLE_TAGS
            ]
        score = collections.Counter()
        for name in votes:
            score[name] += 1.0 / len(votes)
        total = sum(wordnet_scores.values())
        for name, value in wordnet_scores.items():
            score[name] += self.wordnet_weight * value / total
        best = max(
            _CLASS_ORDER,
            key=lambda name: (score[name], -_CLASS_ORDER.index(name)),
        )
        evidence = {k: round(v, 2) for k, v in sorted(wordnet_scores.items())}
        detail = f"tags {tags}, WordNet {evidence}" + (
            ", inflected verb form" if inflected else ""
        )
        if best not in ("adj", "noun"):
            return reject(f"{best}: {detail}")
        if wordnet_scores[best] == 0:
            return reject(f"{best} unknown to WordNet: {detail}")
        visual = self.word_filter == "visual"
        if best == "adj":
            if visual and not self.is_visual_adjective(word):
                return reject(f"relational adjective: {detail}")
            return WordDecision(word, "adj", word, detail)
        lemma = self._lemmatizer.lemmatize(word, "n")
        if visual and not self.is_visual_noun(lemma):
            return reject(f"noun without a visual sense: {detail}")
        return WordDecision(word, "noun", lemma, detail)

    def classify(self, words, progress=False):
        """Classify each word; returns a list of `WordDecision`."""
        words = list(words)
        iterator = tqdm.tqdm(
            words,
            desc="tagging vocabulary",
            unit="word",
            disable=not progress,
            mininterval=1.0,
        )
        return [self.classify_word(word) for word in iterator]


def isolation_baseline(word):
    """The class NLTK's tagger gives `word` on its own (for comparison)."""
    tag = tagger_lib.load_tagger().tag([word.lower()])[0][1]
    name = tagger_lib.word_class(tag)
    return name if name in ("adj", "noun") else None
