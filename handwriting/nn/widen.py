"""Function-preserving widening of the synthesis network (Net2WiderNet, Chen et al. 2016).

A network of ``H`` units per LSTM layer becomes one of ``H' > H`` units that computes the same
function, so training goes on from what the narrow network learned instead of starting again
(``handwriting train --init-from CHECKPOINT --lstm-units H'``).

Every new unit ``j`` of a layer copies an old unit ``g(j)`` (``g(j) = j`` for the first ``H``,
a seeded random old unit after that):

* **Into a unit** (the gate columns of the LSTM kernel, recurrent kernel and bias, for each of
  the four gates i, f, c, o): column ``j`` is old column ``g(j)``. A copy then gets exactly the
  same gate pre-activations (Graves eqs 7-11), so ``c'_j = c_{g(j)}`` and ``h'_j = h_{g(j)}`` at
  every step, from the zero initial state on.
* **Out of a unit** (the rows that read ``h``: the recurrent kernel, the next layer's kernel, the
  window's dense layer, eq 48, and the output layer, eq 17): the old row ``i`` is shared among the
  units that copy ``i``. Each element gets a random share, and the shares of a row element's
  copies sum to one, so every sum over ``h`` is unchanged. Unequal shares give the copies
  different gradients, which breaks their symmetry (equal shares would keep them identical for
  ever).

The result equals the old network's output to float32 round-off (``tests/test_widen.py``).
Arrays are named as in :mod:`handwriting.writing.weights` (``lstm1/kernel`` ``[I, 4H]``, ...).
"""

from __future__ import annotations

import numpy as np

from ..errors import HandwritingError

#: Gates per LSTM unit (Keras' order i, f, c, o), each a block of H columns.
GATES = 4
#: A copy's share of an outgoing weight is drawn from [SHARE_LOW, 1 - SHARE_LOW] (then normalised
#: over the copies), far enough from 0 that no copy starts silent.
SHARE_LOW = 0.25


def unit_mapping(old_units: int, new_units: int, rng: np.random.Generator) -> np.ndarray:
    """``g``: ``[H']`` the old unit that each new unit copies (identity on the first ``H``)."""
    if new_units < old_units:
        raise HandwritingError(f"cannot widen {old_units} units to fewer ({new_units})")
    return np.concatenate([np.arange(old_units), rng.integers(0, old_units, new_units - old_units)])


def _gate_columns(mapping: np.ndarray, old_units: int) -> np.ndarray:
    """Column indices ``[4H']`` into a ``[.., 4H]`` gate matrix that copy each unit's four gates."""
    return np.concatenate([gate * old_units + mapping for gate in range(GATES)])


def _shared_rows(rows: np.ndarray, mapping: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``[H, C]`` rows read from ``h`` -> ``[H', C]``: row ``g(j)`` times a random share, the shares
    of each element's copies summing to one."""
    shares = rng.uniform(SHARE_LOW, 1.0 - SHARE_LOW, size=(len(mapping), rows.shape[1]))
    totals = np.zeros((rows.shape[0], rows.shape[1]))
    np.add.at(totals, mapping, shares)
    return rows[mapping] * (shares / totals[mapping])


def widen_arrays(arrays: dict[str, np.ndarray], layers: int, old_units: int, new_units: int,
                 seed: int = 0) -> dict[str, np.ndarray]:
    """The weights of a ``layers`` x ``new_units`` network computing what ``arrays`` computes.

    Args:
        arrays: ``lstm{n}/kernel`` ``[3 + V (+ H), 4H]``, ``lstm{n}/recurrent_kernel`` ``[H, 4H]``,
            ``lstm{n}/bias`` ``[4H]``, ``window_params/kernel`` ``[H, 3K]`` and ``/bias``,
            ``mixture_output/kernel`` ``[N H, 1 + 6M]`` and ``/bias``.
        layers: N, the LSTM layers; old_units, new_units: H and H'.
        seed: chooses the copied units and the shares.

    Returns:
        The same names with ``H'`` in place of ``H``, float32.
    """
    rng = np.random.default_rng(seed)
    mappings = [unit_mapping(old_units, new_units, rng) for _ in range(layers)]
    out: dict[str, np.ndarray] = {}
    for n, g in enumerate(mappings):
        name = f"lstm{n + 1}"
        columns = _gate_columns(g, old_units)
        kernel = arrays[f"{name}/kernel"][:, columns]
        if n:  # rows 3 + V onwards read the layer below's h
            fixed = kernel.shape[0] - old_units
            kernel = np.concatenate([kernel[:fixed], _shared_rows(kernel[fixed:], mappings[n - 1], rng)])
        out[f"{name}/kernel"] = kernel
        out[f"{name}/recurrent_kernel"] = _shared_rows(arrays[f"{name}/recurrent_kernel"][:, columns], g, rng)
        out[f"{name}/bias"] = arrays[f"{name}/bias"][columns]
    out["window_params/kernel"] = _shared_rows(arrays["window_params/kernel"], mappings[0], rng)
    out["window_params/bias"] = arrays["window_params/bias"]
    blocks = np.split(arrays["mixture_output/kernel"], layers)
    out["mixture_output/kernel"] = np.concatenate([_shared_rows(b, g, rng) for b, g in zip(blocks, mappings)])
    out["mixture_output/bias"] = arrays["mixture_output/bias"]
    return {k: v.astype(np.float32) for k, v in out.items()}


def model_arrays(model) -> dict[str, np.ndarray]:
    """A :class:`~handwriting.nn.model.SynthesisModel`'s weights by name, as NumPy arrays."""
    return {name: np.asarray(variable) for name, variable in _named_variables(model).items()}


def assign_arrays(model, arrays: dict[str, np.ndarray]) -> None:
    """Set a model's weights from named arrays (shapes must match exactly)."""
    for name, variable in _named_variables(model).items():
        if tuple(variable.shape) != arrays[name].shape:
            raise HandwritingError(f"{name}: shape {arrays[name].shape} does not fit {tuple(variable.shape)}")
        variable.assign(arrays[name])


def widen_model(source, target, seed: int = 0) -> None:
    """Write into ``target`` (wider, same config otherwise) the widened weights of ``source``."""
    old, new = source.config, target.config
    if (old.lstm_layers, old.window_components, old.mixture_components, old.vocabulary_size) != (
            new.lstm_layers, new.window_components, new.mixture_components, new.vocabulary_size):
        raise HandwritingError("only lstm_units may differ between a network and its widened copy")
    assign_arrays(target, widen_arrays(model_arrays(source), old.lstm_layers, old.lstm_units, new.lstm_units, seed))


def _named_variables(model) -> dict:
    named = {}
    for n, lstm in enumerate(model.lstms):
        cell = lstm.cell
        named.update({f"lstm{n + 1}/kernel": cell.kernel, f"lstm{n + 1}/recurrent_kernel": cell.recurrent_kernel,
                      f"lstm{n + 1}/bias": cell.bias})
    named.update({"window_params/kernel": model.window.params.kernel, "window_params/bias": model.window.params.bias,
                  "mixture_output/kernel": model.output_layer.kernel,
                  "mixture_output/bias": model.output_layer.bias})
    return named
