"""A codebook generated from a fixed word-vector prior by a trainable map."""

import keras
import numpy as np
from keras import ops

from vqct_keras.api_export import vqct_export
from vqct_keras.layers.initializers import FanInUniform
from vqct_keras.layers.initializers import torch_default_kernel_initializer
from vqct_keras.normalized_adjacency import normalized_adjacency

TRANSFER_KINDS = ("gcn", "mlp", "frozen", "learned")

# The constructor arguments of `TransferredCodebook`, in its config; a
# `PartOfSpeechQuantizer` takes them too and passes them on.
CODEBOOK_ARGUMENTS = (
    "num_adjectives",
    "num_nouns",
    "embed_dim",
    "prior_dim",
    "num_adjacency_entries",
    "transfer",
    "hidden_dim",
    "dropout",
    "seed",
)


class BuiltFromPrior:
    """Adds `from_prior` to a layer sized by a prior and loaded by
    `set_prior` (`TransferredCodebook`, `PartOfSpeechQuantizer`)."""

    @classmethod
    def from_prior(cls, prior, embed_dim, **kwargs):
        """Build a layer sized for a `CodebookPrior` and load the prior.

        Args:
            prior: `CodebookPrior`. Gives `num_adjectives`, `num_nouns`,
                `prior_dim` and `num_adjacency_entries`.
            embed_dim: int. Code dimension.
            **kwargs: the other constructor arguments.
        """
        rows, _, _ = normalized_adjacency(
            prior.num_codes, prior.edges, prior.edge_weights
        )
        layer = cls(
            num_adjectives=prior.num_adjectives,
            num_nouns=prior.num_nouns,
            embed_dim=embed_dim,
            prior_dim=prior.prior_dim,
            num_adjacency_entries=len(rows),
            **kwargs,
        )
        layer.build()
        layer.set_prior(prior)
        return layer


@vqct_export("vqct_keras.layers.TransferredCodebook")
class TransferredCodebook(BuiltFromPrior, keras.layers.Layer):
    """Codebook `C = g(X, A_hat)` computed from a frozen prior at every call.

    Rows `[0, num_adjectives)` of the output are the adjective codes, the
    remaining `num_nouns` rows the noun codes. The prior (word vectors `X`
    and the normalised adjacency `A_hat`) is held in non-trainable weights,
    never in the config; load it with `set_prior()`.

    Transfer kinds (`transfer`):
    - `"gcn"` (VQCT): two graph convolutions
      `A_hat relu(A_hat X W1 + b1) W2 + b2`, with dropout between them
      during training. `A_hat` is sparse (`(rows, cols, values)`). As
      torch_geometric's `GCNConv`: Glorot-uniform kernels (independent
      draws), zero biases.
    - `"mlp"`: a per-word MLP `X -> Dense -> LeakyReLU(0.1) -> Dense` (the
      official code's unused `code_book_mapping`), no graph; PyTorch's
      default `nn.Linear` initialisation.
    - `"frozen"`: the prior vectors as they are; a trainable linear
      projection (no bias) is added only when `prior_dim != embed_dim`.
    - `"learned"`: a plain learnable table, `U(-1/K, 1/K)`, no prior.

    Args:
        num_adjectives: int. Adjective codes.
        num_nouns: int. Noun codes.
        embed_dim: int. Code dimension.
        prior_dim: int. Word-vector dimension (not used by `"learned"`).
        num_adjacency_entries: int. Non-zeros of `A_hat` (`"gcn"` only).
        transfer: str. One of `"gcn"`, `"mlp"`, `"frozen"`, `"learned"`.
            Defaults to `"gcn"`.
        hidden_dim: int. Hidden width of the GCN/MLP. Defaults to
            `embed_dim`.
        dropout: float. Dropout between the two GCN layers in training.
            Defaults to `0.5`.
        seed: int. Seed of the weight initialisers (one derived seed per
            weight, see `weight_seed`) and of the dropout. Defaults to
            `None`.

    Example:

    >>> import numpy as np
    >>> from vqct_keras.prior.codebook_prior import CodebookPrior
    >>> prior = CodebookPrior(["red"], ["dog", "car"], np.eye(3, 4),
    ...                       edges=[[0, 1]])
    >>> codebook = TransferredCodebook.from_prior(prior, embed_dim=8)
    >>> tuple(codebook.codebook().shape)
    (3, 8)
    """

    def __init__(
        self,
        num_adjectives,
        num_nouns,
        embed_dim,
        prior_dim=None,
        num_adjacency_entries=None,
        transfer="gcn",
        hidden_dim=None,
        dropout=0.5,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if transfer not in TRANSFER_KINDS:
            raise ValueError(
                f"`transfer` must be one of {TRANSFER_KINDS}; got {transfer!r}."
            )
        if transfer != "learned" and not prior_dim:
            raise ValueError(
                f"transfer={transfer!r} needs `prior_dim`, the dimension of "
                "the prior's word vectors."
            )
        if transfer == "gcn" and not num_adjacency_entries:
            raise ValueError(
                "transfer='gcn' needs `num_adjacency_entries`, the number of "
                "non-zeros of the normalised adjacency. Build the layer with "
                "`TransferredCodebook.from_prior(prior, ...)`."
            )
        self.num_adjectives = int(num_adjectives)
        self.num_nouns = int(num_nouns)
        self.embed_dim = int(embed_dim)
        self.prior_dim = None if prior_dim is None else int(prior_dim)
        self.num_adjacency_entries = (
            None
            if num_adjacency_entries is None
            else int(num_adjacency_entries)
        )
        self.transfer = transfer
        self.hidden_dim = int(hidden_dim or embed_dim)
        self.dropout = dropout
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    @property
    def num_codes(self):
        return self.num_adjectives + self.num_nouns

    def build(self, input_shape=None):
        if self.built:
            return
        glorot = keras.initializers.GlorotUniform
        if self.transfer != "learned":
            self.prior_vectors = self.add_weight(
                name="prior_vectors",
                shape=(self.num_codes, self.prior_dim),
                initializer="zeros",
                trainable=False,
            )
        if self.transfer == "gcn":
            entries = self.num_adjacency_entries
            # The normalised adjacency in COO form, filled by `from_prior`.
            for name, dtype in (
                ("adjacency_rows", "int32"),
                ("adjacency_cols", "int32"),
                ("adjacency_values", None),
            ):
                weight = self.add_weight(
                    name=name,
                    shape=(entries,),
                    dtype=dtype,
                    initializer="zeros",
                    trainable=False,
                )
                setattr(self, name, weight)
        if self.transfer in ("gcn", "mlp"):
            # Layer 1 maps prior_dim -> hidden_dim, layer 2 hidden_dim ->
            # embed_dim; kernel seeds 1 and 2, bias seeds 3 and 4.
            dims = (self.prior_dim, self.hidden_dim, self.embed_dim)
            for layer in (1, 2):
                fan_in, units = dims[layer - 1], dims[layer]
                kernel = self.add_weight(
                    name=f"kernel_{layer}",
                    shape=(fan_in, units),
                    initializer=self._kernel_initializer(layer),
                )
                bias = self.add_weight(
                    name=f"bias_{layer}",
                    shape=(units,),
                    initializer=self._bias_initializer(layer + 2, fan_in),
                )
                setattr(self, f"kernel_{layer}", kernel)
                setattr(self, f"bias_{layer}", bias)
        if self.transfer == "frozen" and self.prior_dim != self.embed_dim:
            self.projection = self.add_weight(
                name="projection",
                shape=(self.prior_dim, self.embed_dim),
                initializer=glorot(seed=self.weight_seed(1)),
            )
        if self.transfer == "learned":
            bound = 1.0 / self.num_codes
            self.embeddings = self.add_weight(
                name="embeddings",
                shape=(self.num_codes, self.embed_dim),
                initializer=keras.initializers.RandomUniform(
                    -bound, bound, seed=self.weight_seed(1)
                ),
            )
        self.built = True

    def weight_seed(self, index):
        """Seed of the `index`-th random weight, from `seed`.

        Each weight gets its own seed (the official GCN's two kernels are
        independent draws), derived from `(seed, index)` by NumPy's
        `SeedSequence`; `None` when `seed` is `None` (Keras then draws a
        fresh seed per initializer).
        """
        if self.seed is None:
            return None
        state = np.random.SeedSequence([int(self.seed), index])
        return int(state.generate_state(1)[0] >> 1)

    def _kernel_initializer(self, index):
        if self.transfer == "mlp":
            # The MLP variant's `nn.Linear` layers: PyTorch's default.
            return torch_default_kernel_initializer(self.weight_seed(index))
        # torch_geometric's GCNConv: Glorot uniform kernel.
        return keras.initializers.GlorotUniform(seed=self.weight_seed(index))

    def _bias_initializer(self, index, fan_in):
        if self.transfer == "mlp":
            return FanInUniform(fan_in, seed=self.weight_seed(index))
        return "zeros"  # GCNConv's bias.

    def set_prior(self, prior):
        """Load a `CodebookPrior`'s vectors and graph into this layer."""
        if self.transfer == "learned":
            return
        self.build()
        expected = (self.num_adjectives, self.num_nouns, self.prior_dim)
        given = (prior.num_adjectives, prior.num_nouns, prior.prior_dim)
        if expected != given:
            raise ValueError(
                "The prior does not fit this codebook layer: expected "
                "(num_adjectives, num_nouns, prior_dim) = "
                f"{expected}, got {given}. Build the layer from this prior "
                "with `from_prior`."
            )
        self.prior_vectors.assign(prior.vectors)
        if self.transfer == "gcn":
            rows, cols, values = normalized_adjacency(
                prior.num_codes, prior.edges, prior.edge_weights
            )
            if len(rows) != self.num_adjacency_entries:
                raise ValueError(
                    "The prior's graph does not fit this codebook layer: "
                    f"expected {self.num_adjacency_entries} adjacency "
                    f"entries, got {len(rows)}. Build the layer from this "
                    "prior with `from_prior`."
                )
            self.adjacency_rows.assign(rows)
            self.adjacency_cols.assign(cols)
            self.adjacency_values.assign(values)

    def _propagate(self, features):
        """Sparse `A_hat @ features`."""
        messages = ops.take(features, self.adjacency_cols, axis=0)
        messages = messages * self.adjacency_values[:, None]
        return ops.segment_sum(
            messages,
            self.adjacency_rows,
            num_segments=self.num_codes,
        )

    def codebook(self, training=False):
        """All codes `(num_codes, embed_dim)`, float32: adjectives first."""
        self.build()
        if self.transfer == "learned":
            return ops.cast(self.embeddings, "float32")
        vectors = ops.cast(self.prior_vectors, "float32")
        if self.transfer == "frozen":
            if self.prior_dim == self.embed_dim:
                return vectors
            return ops.matmul(vectors, self.projection)
        if self.transfer == "mlp":
            hidden = ops.leaky_relu(
                ops.matmul(vectors, self.kernel_1) + self.bias_1,
                negative_slope=0.1,
            )
            return ops.matmul(hidden, self.kernel_2) + self.bias_2
        hidden = self._propagate(ops.matmul(vectors, self.kernel_1))
        hidden = ops.relu(hidden + self.bias_1)
        if training and self.dropout > 0:
            hidden = keras.random.dropout(
                hidden, self.dropout, seed=self.seed_generator
            )
        return self._propagate(ops.matmul(hidden, self.kernel_2)) + self.bias_2

    def call(self, inputs=None, training=None):
        return self.codebook(training=bool(training))

    def compute_output_shape(self, input_shape=None):
        return (self.num_codes, self.embed_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {name: getattr(self, name) for name in CODEBOOK_ARGUMENTS}
        )
        return config


def dense_adjacency(layer):
    """The layer's `A_hat` as a dense NumPy array (for tests and plots)."""
    dense = np.zeros((layer.num_codes, layer.num_codes), dtype="float32")
    rows = ops.convert_to_numpy(layer.adjacency_rows.value)
    cols = ops.convert_to_numpy(layer.adjacency_cols.value)
    dense[rows, cols] = ops.convert_to_numpy(layer.adjacency_values.value)
    return dense
