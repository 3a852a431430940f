"""The dataset's steps: reference FASTA + peaks -> windows, labels, one-hot, splits, ``.npy``.

Nothing here imports TensorFlow: the data rules' environment has none (tested).
"""
