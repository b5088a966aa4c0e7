"""`gc.data`: batching, splits, preprocessing, datasets and closed-form regression (NumPy level)."""
from .batching import kfold, minibatches, train_val_split
from .datasets import digits, load_idx, mnist, sine
from .linear import linear_regression
from .preprocess import Standardizer, one_hot

__all__ = ["kfold", "minibatches", "train_val_split", "digits", "load_idx", "mnist", "sine",
           "linear_regression", "Standardizer", "one_hot"]
