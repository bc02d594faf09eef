"""Reference solutions and shared utilities for the MNIST neural-network labs."""
