"""tfbinding: reference FASTA + ChIP-seq peaks -> one-hot .npy datasets for binding models."""
from tfbinding.data.loader import Dataset, load_dataset

__all__ = ["Dataset", "load_dataset"]
__version__ = "0.1.0"
