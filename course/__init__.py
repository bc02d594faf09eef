"""The grading engine of the course: sandbox, kernel bridge, nbgrader plug-in, runner, CLI."""
