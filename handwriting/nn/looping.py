"""A backend-specific time loop: ``scan(step, carry, xs) -> (carry, ys)``.

Keras 3.15's ``keras.ops.scan`` on TensorFlow requires every per-step output to have the shape
of the carry, which does not fit a recurrent network whose outputs (mixture parameters, window
weights) differ from its state. This helper runs

* ``tf.while_loop`` with ``TensorArray`` outputs on TensorFlow,
* ``jax.lax.scan`` on JAX,
* a plain Python loop on any other backend,

with the same contract everywhere:

    step(carry, x_t) -> (new_carry, y_t)

``carry``, ``xs`` and ``y_t`` are nested structures (tuples, lists, dicts) of tensors. ``xs``
is time-major (each leaf ``[T, ...]``); the returned ``ys`` are stacked time-major too.
"""

from __future__ import annotations

from typing import Any, Callable

import keras
from keras import tree


def scan(step: Callable[[Any, Any], tuple[Any, Any]], carry: Any, xs: Any) -> tuple[Any, Any]:
    """Run ``step`` over the leading (time) axis of ``xs``; see the module docstring."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _scan_tensorflow(step, carry, xs)
    if backend == "jax":
        import jax

        return jax.lax.scan(step, carry, xs)
    return _scan_python(step, carry, xs)


def _scan_tensorflow(step, carry, xs):
    import tensorflow as tf

    flat_xs = tree.flatten(xs)
    length = tf.shape(flat_xs[0])[0]
    static_length = flat_xs[0].shape[0]
    # Trace the step once on the first element to learn the output structure and dtypes.
    x0 = tree.map_structure(lambda x: x[0], xs)
    _, y0 = step(carry, x0)
    flat_y0 = tree.flatten(y0)
    arrays = [
        tf.TensorArray(y.dtype, size=length, element_shape=y.shape, infer_shape=True)
        for y in flat_y0
    ]
    flat_carry = tree.flatten(carry)
    # Read inputs through TensorArrays: the gradient of slicing ``x[t]`` inside the loop would
    # build a zero tensor the size of all of ``x`` at every step (quadratic in T).
    inputs = [tf.TensorArray(x.dtype, size=length, element_shape=x.shape[1:]).unstack(x) for x in flat_xs]

    def cond(t, *_):
        return t < length

    def body(t, flat_carry, arrays):
        x_t = tree.pack_sequence_as(xs, [a.read(t) for a in inputs])
        new_carry, y_t = step(tree.pack_sequence_as(carry, flat_carry), x_t)
        new_flat = tree.flatten(new_carry)
        new_flat = [tf.ensure_shape(n, c.shape) for n, c in zip(new_flat, flat_carry)]
        arrays = [a.write(t, y) for a, y in zip(arrays, tree.flatten(y_t))]
        return t + 1, new_flat, arrays

    _, flat_carry, arrays = tf.while_loop(
        cond, body, (tf.constant(0), flat_carry, arrays),
        # A bound is needed by XLA (where shapes are compile-time constants) for the gradient's stacks.
        maximum_iterations=static_length if static_length is not None else length,
    )
    ys = [a.stack() for a in arrays]
    if static_length is not None:
        ys = [tf.ensure_shape(y, [static_length] + list(y.shape[1:])) for y in ys]
    return tree.pack_sequence_as(carry, flat_carry), tree.pack_sequence_as(y0, ys)


def _scan_python(step, carry, xs):
    from keras import ops

    length = tree.flatten(xs)[0].shape[0]
    outputs = []
    for t in range(length):
        carry, y = step(carry, tree.map_structure(lambda x: x[t], xs))
        outputs.append(y)
    ys = tree.map_structure(lambda *ys: ops.stack(ys, axis=0), *outputs)
    return carry, ys
