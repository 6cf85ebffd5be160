"""Part-of-speech tagging for the prior: NLTK helpers, the vocabulary
filter and its hand-labelled evaluation words."""
