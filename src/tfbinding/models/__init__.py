"""Models: the architectures, the motif baseline, training, inference, metrics and evaluation."""
