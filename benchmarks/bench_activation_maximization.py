"""Activation maximization of all ten digits: one batched optimization against the lab's loop
over digits (one Optimize_NN_Input each), on the lab's trained MLP and LeNet-5; printed as a
ratio measured side by side in one run (best of a few repeats, to damp a noisy machine)."""

import sys

import torch
from timing import best_of

from course.layout import GRADERS, ROOT
from reference.maximization import maximize_batched, maximize_each_digit

sys.path.insert(0, str(ROOT / GRADERS))  # the lab's trained networks, as the graders use them
from activation_maximization.cases import trained_lenet, trained_mlp  # noqa: E402


def main():
    torch.set_num_threads(1)  # as in the notebook: small networks, one thread
    # (name, network, start shape, target, iterations, repeats): LeNet-5 takes seconds.
    cases = (("MLP, 50 iterations   ", trained_mlp(), (1, 784), 0.9, 50, 3),
             ("LeNet-5, 500 iterations", trained_lenet(), (1, 1, 28, 28), 0.99, 500, 1))
    for name, net, shape, target, iters, repeats in cases:
        torch.manual_seed(0)
        img0 = torch.randn(*shape) * 0.01
        loop_images = maximize_each_digit(net, img0, 1e-2, target, iters)
        batch_images, _ = maximize_batched(net, img0, 1e-2, target, iters)
        # Equal up to float rounding of the batched products, built up over the Adam steps.
        gap = (loop_images - batch_images).abs().max().item()
        loop = best_of(lambda n=net, x=img0, t=target, k=iters:
                       maximize_each_digit(n, x, 1e-2, t, k), repeats)
        batched = best_of(lambda n=net, x=img0, t=target, k=iters:
                          maximize_batched(n, x, 1e-2, t, k), repeats)
        print(f"ten digits, {name}  loop {loop * 1e3:8.1f} ms   batched {batched * 1e3:8.1f} ms"
              f"   ratio loop/batched {loop / batched:5.2f}x   (max image difference {gap:.1e})")


if __name__ == "__main__":
    main()
