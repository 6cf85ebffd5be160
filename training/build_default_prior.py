"""Build the default codebook prior unless it exists; print its path.

    python training/build_default_prior.py

The prior of `vqct_keras.prior.load_default_prior()` (all-MiniLM-L6-v2's
vocabulary, token vectors, kNN edges), built into the asset folder in
about a minute on two CPU cores. `scripts/setup.d/35-default-prior.sh`
runs it, so that training demos start at once.
"""

import os


def main():
    from vqct_keras.prior.default_prior import build_default_prior
    from vqct_keras.prior.default_prior import default_prior_path

    path = default_prior_path()
    if os.path.exists(path):
        print(f"default codebook prior: {path} (exists)")
        return
    _, summary = build_default_prior(path, progress=True)
    print(
        f"default codebook prior: {path} ({summary['num_adjectives']} "
        f"adjectives, {summary['num_nouns']} nouns, {summary['num_edges']} "
        f"edges, {summary['seconds']['total']:.0f} s)"
    )


if __name__ == "__main__":
    main()
