"""The choices of `build_prior.py`'s flags, without importing Keras.

`build_prior.py --help` defines its flags from these, so that the help
prints before TensorFlow starts. They equal the library's own constants
(`vqct_keras.prior.builder`, `.graph`, `.vectors`, `.tagging.vocabulary`):
a test checks it.
"""

VOCABULARY_SOURCES = ("tokenizer", "corpus")
GRAPH_KINDS = ("auto", "cooccurrence", "knn")
KNN_WEIGHTINGS = ("similarity", "binary")
VECTOR_MODES = ("token", "prompt")
POOLINGS = ("auto", "mean", "first", "last", "clip")
WORD_FILTERS = ("visual", "none")
