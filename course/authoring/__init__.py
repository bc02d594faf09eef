"""The instructor's side: notebooks built from Python, ``course release``, ``course check``,
the demo, and grading batches of notebooks in throw-away course copies."""
