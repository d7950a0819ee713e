"""scikit-learn helpers the legacy model is pickled with (MLServer must be able to import this).

train_legacy.py copies this file into the MLServer model repository, whose root `mlserver start`
puts on sys.path, so the model folder is self-contained.
"""
from sklearn.base import BaseEstimator, ClassifierMixin


class PositiveClassProbability(ClassifierMixin, BaseEstimator):
    """A fitted binary classifier whose `predict_proba` answers one column: P(class 1).

    MLServer's sklearn runtime returns `predict_proba` as is, which for a binary classifier is
    [P(0), P(1)] per row; ShadowGate scores an OIP v2 response by the first number of its first
    output, so the legacy model answers [P(1)] (shape [n, 1]), like the learner does.
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y):
        self.estimator.fit(X, y)
        self.classes_ = self.estimator.classes_
        if list(self.classes_) != [0, 1]:
            raise ValueError(f"expected classes [0, 1], got {list(self.classes_)}")
        return self

    def predict_proba(self, X):
        return self.estimator.predict_proba(X)[:, 1:2]

    def predict(self, X):
        return self.estimator.predict(X)
