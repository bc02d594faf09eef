"""Stage 3 of grading: the hidden graders, run in a trusted process beside the kernel.

``runner`` starts pytest on a lab's grader files (``tests/graders/<lab>/``) with
``pytest_plugin`` (the ``student`` fixture, the derandomized grading profile, one record per
property with a message for the student). Graders compare with ``compare`` (arrays, frames,
lists) and ``vegalite`` (charts by meaning), draw cases with the shared primitives of
``cases`` and load trained models through ``model_cache``. ``harness`` runs the same graders
without a kernel, for the graders' own tests and the mutation benchmark.
How to write a grader: tests/graders/README.md.
"""
