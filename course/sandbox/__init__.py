"""Stage 1 of grading: the student's kernel runs in a bubblewrap sandbox.

``bubblewrap`` builds the sandbox's command line and limits, ``workspace`` the host folders
of one run, ``kernel`` the Jupyter kernel manager that starts the kernel inside.
"""

from .bubblewrap import Sandbox, SandboxUnavailable
from .kernel import SandboxedKernelManager
from .workspace import Workspace

__all__ = ["Sandbox", "SandboxUnavailable", "SandboxedKernelManager", "Workspace"]
