"""Vectorized activation matrix (one forward pass + group-by) against the original lab's
per-class loop, on the real embedded MNIST and the lab's (512, 256) MLP; printed as a ratio
measured side by side in one run (best of several repeats, to damp a noisy machine)."""

import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from timing import best_of

from reference.activations import calculate_activation_matrix, calculate_activation_matrix_loop
from reference.data import embedded_split


def main():
    X_train, X_test, y_train, y_test = embedded_split()
    nn = MLPClassifier(hidden_layer_sizes=(512, 256), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        nn.fit(X_train, y_train)
    sets = (("test set (1,000)", X_test, y_test), ("train set (4,000)", X_train, y_train))
    for name, X, y in sets:
        loop = best_of(lambda X=X, y=y: calculate_activation_matrix_loop(X, y, nn))
        vec = best_of(lambda X=X, y=y: calculate_activation_matrix(X, y, nn))
        print(f"activation matrix, {name:18s} loop {loop * 1e3:8.1f} ms   "
              f"vectorized {vec * 1e3:8.1f} ms   ratio loop/vectorized {loop / vec:5.2f}x")


if __name__ == "__main__":
    main()
