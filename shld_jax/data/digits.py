"""scikit-learn's bundled handwritten digits: 1797 images of 8×8 pixels, 10 classes, no download.

The one loader of the package; each experiment splits and scales it its own way
(``experiments.double_descent.digits_data``: centred, ``E‖x‖² = d``, one-hot, label noise;
``experiments.lr_batch.load_digits_data``: pixels mapped to [−1, 1], integer labels).
"""

from __future__ import annotations

import numpy as np


def load() -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)``: pixel counts ``X [1797, 64]`` in 0…16 (float64) and labels ``y [1797]`` in 0…9."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X, y
