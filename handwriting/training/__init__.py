"""Training: padded, bucketed batches, the steppers (tf.function / JAX) and the training loop
that writes resumable checkpoints. Imports Keras; never imported on the write path."""
