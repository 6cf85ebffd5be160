"""Functions shared by the vector quantizers (keras.ops, float32)."""

from keras import ops


def squared_distances(vectors, codes):
    """Squared L2 distances `(N, K)` between rows, as a matmul.

    `|v|^2 - 2 v.c + |c|^2`, never a `(N, K, D)` broadcast. Both inputs are
    cast to float32.
    """
    vectors = ops.cast(vectors, "float32")
    codes = ops.cast(codes, "float32")
    return (
        ops.sum(ops.square(vectors), axis=-1, keepdims=True)
        - 2.0 * ops.matmul(vectors, ops.transpose(codes))
        + ops.sum(ops.square(codes), axis=-1)[None, :]
    )


def straight_through(latents, quantized):
    """Straight-through estimator whose forward value is exactly `quantized`.

    The gradient with respect to `latents` is the identity and no gradient
    reaches `quantized`. Written as `sg(q) + (z - sg(z))` rather than the
    usual `z + sg(q - z)` so that the forward value is bit-exact `q`, which
    makes decoding from indices reproduce a reconstruction exactly.
    """
    return ops.stop_gradient(quantized) + (latents - ops.stop_gradient(latents))


def quantization_losses(latents, quantized, commitment_weight, codebook_weight):
    """The VQ loss terms `(commitment, codebook)`, each a float32 scalar.

    `commitment = w_c * mean((sg[q] - z)^2)` trains the encoder;
    `codebook = w_b * mean((q - sg[z])^2)` trains the codebook.
    """
    latents = ops.cast(latents, "float32")
    quantized = ops.cast(quantized, "float32")
    commitment = ops.mean(ops.square(ops.stop_gradient(quantized) - latents))
    codebook = ops.mean(ops.square(quantized - ops.stop_gradient(latents)))
    return commitment_weight * commitment, codebook_weight * codebook


def quantizer_outputs(
    latents, quantized, indices, commitment_weight, codebook_weight
):
    """A quantizer's output dict but for the usage fractions.

    `quantized` (the codes picked for `latents`, any float dtype) passes
    the straight-through estimator; the loss terms are those of
    `quantization_losses`, and `vq_loss` is their sum.
    """
    commitment, codebook = quantization_losses(
        latents, quantized, commitment_weight, codebook_weight
    )
    return {
        "quantized": straight_through(
            latents, ops.cast(quantized, latents.dtype)
        ),
        "indices": indices,
        "commitment_loss": commitment,
        "codebook_loss": codebook,
        "vq_loss": commitment + codebook,
    }


def usage_fraction(indices, num_codes):
    """Fraction of the `num_codes` codes that appear in `indices`."""
    flat = ops.reshape(ops.cast(indices, "int32"), (-1,))
    counts = ops.segment_sum(
        ops.ones_like(flat, dtype="float32"), flat, num_segments=num_codes
    )
    used = ops.sum(ops.cast(counts > 0, "float32"))
    return used / float(num_codes)
