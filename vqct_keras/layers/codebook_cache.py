"""A value computed from some weights, kept until those weights change."""

from keras import ops


class CodebookCache:
    """Caches `compute()` and recomputes it when the weights it reads change.

    Made for the inference codebook of a `TransferredCodebook`: the GCN
    output depends only on the layer's weights, so at inference it can be
    computed once and reused until a weight changes.

    Staleness check: on every `get`, each weight's current value is
    compared with a snapshot taken when the value was computed, element by
    element (exact equality). A weight held in an immutable array (JAX)
    changes only by being replaced with another array: there the check is
    whether it is still the very same object (a reference is kept, so its
    identity cannot be reused), and there is no copy.
    Comparing the values themselves, rather than counting assignments or
    invalidating from `fit` or `load_weights`, means that no way of changing
    a weight (an optimizer step inside a compiled graph, `load_weights`,
    `set_weights`, `assign`, a custom training loop) can leave the cache
    stale. The cost is one pass over the weights on TensorFlow (for the S
    prior, 3.2M floats), an order of magnitude less than the GCN it saves,
    and nothing on JAX.

    Call `get` eagerly only (not while tracing a function): the check needs
    concrete values. `VQCTTokenizer` makes sure of that.

    Not tracked by Keras or TensorFlow (a plain object): nothing of it is
    saved, and a reloaded model starts with an empty cache.
    """

    def __init__(self):
        self.value = None
        self.computations = 0
        self._sources = None
        self._snapshots = None

    def clear(self):
        """Forget the cached value (the next `get` recomputes it)."""
        self.value = None
        self._sources = None
        self._snapshots = None

    def get(self, variables, compute):
        """The cached `compute()`, recomputed if any of `variables` changed.

        Args:
            variables: list of Keras variables `compute` reads.
            compute: callable with no argument.
        """
        sources = [variable.value for variable in variables]
        if self.value is not None and self._unchanged(sources):
            return self.value
        self._sources = [
            source if _is_immutable(source) else None for source in sources
        ]
        self._snapshots = [
            None if _is_immutable(source) else ops.copy(source)
            for source in sources
        ]
        self.value = compute()
        self.computations += 1
        return self.value

    def _unchanged(self, sources):
        if len(sources) != len(self._snapshots):
            return False
        for source, kept, snapshot in zip(
            sources, self._sources, self._snapshots
        ):
            if kept is not None:
                # An immutable array: unchanged if and only if it is still
                # the same object (its old buffer may have been donated to
                # a compiled step since, so it is never read again).
                if source is kept:
                    continue
                return False
            if tuple(source.shape) != tuple(snapshot.shape):
                return False
            if not bool(ops.all(ops.equal(source, snapshot))):
                return False
        return True


def _is_immutable(value):
    # TensorFlow variables change in place (they have `assign`); JAX arrays
    # are immutable: a new value is a new object.
    return not hasattr(value, "assign")
