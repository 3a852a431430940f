"""The DeepChem book's chapter-6 network, built for DeepChem's ``KerasModel``: shared by
the in-process test (Keras 3) and the ``tf_keras`` subprocess of ``test_export_deepchem.py``."""


def chapter6_model(dc, keras, train):
    """3x Conv1D(15, 10, relu) + Dropout(0.5), Flatten, Dense(1) logits, sigmoid
    cross-entropy weighted by w, as a ``dc.models.KerasModel`` for ``train``'s shape."""
    inputs = keras.Input(train.get_data_shape())
    x = inputs
    for _ in range(3):
        x = keras.layers.Conv1D(15, 10, activation="relu", padding="same")(x)
        x = keras.layers.Dropout(0.5)(x)
    logits = keras.layers.Dense(1)(keras.layers.Flatten()(x))
    network = keras.Model(inputs, [keras.layers.Activation("sigmoid")(logits), logits])
    return dc.models.KerasModel(network, dc.models.losses.SigmoidCrossEntropy(),
                                output_types=["prediction", "loss"], batch_size=64, learning_rate=1e-3)
