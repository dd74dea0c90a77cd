"""The network's maths: the Gaussian window (Graves eqs 46-51), the mixture density output
(eqs 17-26, 61-62), the synthesis model and its time loop. Keras 3 (TensorFlow or JAX)."""
