"""Genome-wide prediction: calibrate a threshold, predict chromosomes, merge tracks, a track hub."""
