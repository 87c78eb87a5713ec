"""Training a network: the fit's configuration (every "auto" resolved once), the
trainer that builds the skorch net and trains it, the net and its loss, and the
training concerns as skorch callbacks (learning-rate schedule, weight average, early
stopping, progress display)."""
