"""The soft attention window over the characters (Graves 2013, eqs 46-51).

At each point ``t`` the first LSTM layer's output ``h1_t`` gives ``3K`` numbers
``(a_hat, b_hat, k_hat) = W h1_t + b`` (eq 48) and

* ``a = act(a_hat)``, importance of each Gaussian (eq 49),
* ``b = act(b_hat)``, its inverse width (eq 50),
* ``kappa_t = kappa_{t-1} + s * act(k_hat)``, its position, which never decreases (eq 51),
* ``phi(t, u) = sum_k a_k exp(-b_k (kappa_k - u)^2)`` for characters ``u = 1..U`` (eq 46),
* ``w_t = sum_u phi(t, u) c_u``, the window vector fed to every layer (eq 47).

``act`` is ``exp`` as in Graves (default) or ``softplus`` (``ModelConfig.window_activation``).
The kappa step carries a fixed scale ``s = ModelConfig.kappa_step_scale`` (default 1/25):
with ``exp`` this is exactly eq 51 with the bias of ``k_hat`` shifted by ``log s``, i.e. an
initialisation that starts the window at about one character per 25 points (close to what
handwriting needs) instead of one character per point, which made early training unstable in
many published re-implementations. With ``softplus`` the step grows linearly rather than
exponentially in ``k_hat``, which bounds how far the window can jump in one step.

Padded characters (mask 0) get ``phi = 0``, so they change nothing in ``w``.
Positions start at 1 as in the paper, with ``kappa_0 = 0``.
"""

from __future__ import annotations

import keras
from keras import ops


def window_activation(name: str):
    """The positive map of eqs 49-51: ``exp`` or ``softplus``."""
    if name == "exp":
        return ops.exp
    if name == "softplus":
        return ops.softplus
    raise ValueError(f"unknown window activation {name!r}")


def window_phi(a, b, kappa, positions):
    """Eq 46: ``phi[B, U] = sum_k a_k exp(-b_k (kappa_k - u)^2)``.

    Args:
        a, b, kappa: ``[B, K]``.
        positions: ``[U]`` (or ``[B, U]``) character positions ``u``, 1-based.
    """
    u = ops.cast(positions, kappa.dtype)
    if len(u.shape) == 1:
        u = ops.expand_dims(u, 0)
    d = ops.expand_dims(kappa, 1) - ops.expand_dims(u, 2)  # [B, U, K]
    return ops.sum(ops.expand_dims(a, 1) * ops.exp(-ops.expand_dims(b, 1) * ops.square(d)), axis=-1)


@keras.saving.register_keras_serializable(package="handwriting")
class GaussianWindow(keras.layers.Layer):
    """Eqs 46-51 for one time step.

    Args:
        components: K, the number of Gaussians.
        activation: ``"exp"`` (Graves) or ``"softplus"``.
        kappa_step_scale: the fixed factor of the kappa increment (see the module docstring).
    """

    def __init__(self, components: int, activation: str = "exp", kappa_step_scale: float = 0.04, **kwargs):
        super().__init__(**kwargs)
        self.components = components
        self.activation_name = activation
        self.kappa_step_scale = kappa_step_scale
        self._act = window_activation(activation)
        self.params = keras.layers.Dense(3 * components, name="window_params", dtype=self.dtype_policy)

    def build(self, input_shape):
        self.params.build(input_shape)
        self.built = True

    def call(self, h1, kappa_prev, char_onehot, char_mask):
        """One step of the window.

        Args:
            h1: ``[B, H]`` first layer output at time t.
            kappa_prev: ``[B, K]`` window positions at t-1.
            char_onehot: ``[B, U, V]`` one-hot characters (padding rows may be anything).
            char_mask: ``[B, U]`` 1 for real characters, 0 for padding.

        Returns:
            ``(w [B, V], phi [B, U], kappa [B, K])`` (eqs 47, 46, 51).
        """
        k = self.components
        p = self._act(self.params(h1))
        a, b, step = p[:, :k], p[:, k: 2 * k], p[:, 2 * k:]
        kappa = kappa_prev + self.kappa_step_scale * step
        w, phi = self.read(a, b, kappa, char_onehot, char_mask)
        return w, phi, kappa

    @staticmethod
    def read(a, b, kappa, char_onehot, char_mask):
        """``(w [B, V], phi [B, U])`` of a window ``a, b, kappa`` ``[B, K]`` over the characters
        (eqs 46-47; padding rows get phi = 0)."""
        positions = ops.arange(1, ops.shape(char_mask)[1] + 1, dtype=kappa.dtype)
        phi = window_phi(a, b, kappa, positions) * ops.cast(char_mask, kappa.dtype)
        w = ops.einsum("bu,buv->bv", phi, ops.cast(char_onehot, kappa.dtype))
        return w, phi

    def window_parameters(self, h1):
        """``(a, b, kappa_step)`` each ``[B, K]`` for ``h1`` ``[B, H]`` (for plots and the stop rule)."""
        k = self.components
        p = self._act(self.params(h1))
        return p[:, :k], p[:, k: 2 * k], self.kappa_step_scale * p[:, 2 * k:]

    def get_config(self):
        return {**super().get_config(), "components": self.components, "activation": self.activation_name,
                "kappa_step_scale": self.kappa_step_scale}
