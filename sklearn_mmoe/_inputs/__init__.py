"""What fit and predict accept as ``X``, and the fixed encodings fitted from it:
validation, categorical codes and hashing, numeric scaling and bins, duplicate
rows merged, and the tensors that batches are sliced from."""
