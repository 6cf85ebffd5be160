"""Print the fingerprint of the installed photos of the `default` dataset.

    python training/data_fingerprint.py

One line (`vqct_keras.data.photo_sources.sources_fingerprint()`): the data's
definition and every installed photo's id and size. `scripts/setup.d/
40-images.sh` compares it with the stamp that `prepare_data.py --stamp`
wrote, without importing TensorFlow: the check returns at once.
"""

from training import keras_free


def main():
    photo_sources = keras_free.load_module("vqct_keras.data.photo_sources")
    print(photo_sources.sources_fingerprint())


if __name__ == "__main__":
    main()
