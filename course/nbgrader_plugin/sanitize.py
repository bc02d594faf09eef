"""A sanitize step nbgrader needs when deleted locked cells are restored.

nbgrader's DeduplicateIds empties the nbgrader metadata of a duplicated cell, and
OverwriteCells (with ``add_missing_cells``) then fails on that empty dict with a KeyError,
so a student who copies a test cell would stop their whole submission from being graded.
This step, run between the two, turns such cells into plain cells.
"""

from nbgrader.preprocessors import NbGraderPreprocessor


class DropEmptyGraderMetadata(NbGraderPreprocessor):
    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader")
        if meta is not None and "grade_id" not in meta:
            del cell.metadata["nbgrader"]
        return cell, resources
