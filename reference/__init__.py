"""Reference solutions of the MNIST labs, and the shared layer they stand on.

Each lab's graders compare a student's functions with these (the lab -> module table below);
students read the docstrings (numpydoc) when feedback names one of the rules. Nothing here
is imported by a student's notebook: it is not mounted in the grading sandbox.

=========================  ==================================================================
lab                        modules
=========================  ==================================================================
(shared by every lab)      ``data`` (the one MNIST loader: embedded 5,000 digits or full MNIST,
                           stratified seeded splits), ``torch_data`` (tensors, DataLoaders,
                           ``count_parameters``; no torchvision)
``nn_foundations``         ``single_neuron``, ``linear_models``, ``small_networks``
``activation_matrix``      ``activations``, ``charts``
``activation_maximization`` ``models``, ``maximization``
``hidden_activity``        ``projections``, ``neurons``, ``hidden_charts``, ``cifar10``
=========================  ==================================================================

One name, one contract: a function of the same name in two modules is the same object (for
example ``count_parameters``); training loops with different signatures have different
names (``small_networks.train_model`` on tensors, ``models.train_with_validation`` on
DataLoaders with validation losses).
"""
