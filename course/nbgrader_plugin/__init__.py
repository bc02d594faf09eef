"""Where grading meets nbgrader: the preprocessors ``nbgrader_config.py`` wires in.

``executor.SandboxedExecute`` replaces nbgrader's Execute (the kernel in the sandbox, then the
hidden graders), ``feedback`` writes each grade cell's feedback and score, ``sanitize`` keeps
duplicated locked cells from stopping the sanitize step.
"""
