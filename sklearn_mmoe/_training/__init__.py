"""Training a network: the skorch net, its loss and epoch monitor, the engine
that builds and trains it for an estimator, and the progress display."""
