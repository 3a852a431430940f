"""Synthetic genomes: the demo data and the simulator for benchmarks."""
