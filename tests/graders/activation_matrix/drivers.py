"""Drivers of the activation_matrix graders: code that runs in the student's kernel.

A driver travels into the kernel by value, so it is self-contained: it imports nothing from
the graders and uses only the notebook's globals ``ns`` and its arguments.
"""


def changes_to_frame(ns, name, frame, args, patch):
    """Call ``ns[name](frame, *args)`` (with the globals of ``patch`` swapped in) and say how
    the caller's ``frame`` changed: "" if it did not."""
    before = frame.copy(deep=True)
    missing = object()
    saved = {key: ns.get(key, missing) for key in patch}
    ns.update(patch)
    try:
        ns[name](frame, *args)
    finally:
        for key, value in saved.items():
            if value is missing:
                ns.pop(key, None)
            else:
                ns[key] = value
    if [str(c) for c in frame.columns] != [str(c) for c in before.columns]:
        return f"its columns became {[str(c) for c in frame.columns]}"
    if len(frame) != len(before) or not frame.index.equals(before.index):
        return "its rows were dropped, added or reordered"
    if not frame.equals(before):
        return "its values changed"
    return ""
