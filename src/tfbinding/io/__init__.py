"""Readers and writers, one module per format (FASTA, BED, bigWig, VCF), downloads and exports."""
