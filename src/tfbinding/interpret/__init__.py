"""Interpretation: window selection, attributions (gradients, ISM), motifs and variant effects."""
