"""A student who writes no solution and steals the reference code graders send.

Every function of the released (blank) notebook is wrapped: on each call it looks through
the notebook's globals (where ``_patch`` swaps reference functions in), its arguments and
their attributes for functions and classes of ``reference`` (they travel into the kernel
by value and keep their ``__module__``), keeps them, installs every stolen name in the
notebook's globals for good, and answers with the stolen version of itself when it has
one. If graders send a name's reference before that name's own checks have run, this
notebook scores more than a blank one. The file is also the source of a notebook cell
(tests/adversarial/test_reference_theft.py): it imports nothing from the course.
"""

import functools
import types


def reference_name(obj):
    """As course.bridge.sending.reference_name (this file also runs inside a kernel)."""
    kind = type(obj)  # not isinstance: that asks some proxies (torch's) for __class__
    if kind is not types.FunctionType and not issubclass(kind, type):
        return None
    module = getattr(obj, "__module__", None) or ""
    if module != "reference" and not module.startswith("reference."):
        return None
    name = (getattr(obj, "__qualname__", "") or "").split(".")[0]
    return None if not name or name.startswith(("_", "<")) else name


def _stealable(value, depth=2):
    """Reference functions and classes reachable from ``value``: itself, its type, its
    attributes and (for torch modules) its sub-modules."""
    found = []
    for candidate in (value, type(value)):
        if reference_name(candidate):
            found.append(candidate)
    if depth and hasattr(value, "__dict__") and not isinstance(value, type):
        for attribute in list(vars(value).values()):
            found += _stealable(attribute, depth - 1)
    if depth and hasattr(value, "modules") and callable(value.modules):
        try:
            found += [type(m) for m in value.modules() if reference_name(type(m))]
        except Exception:  # noqa: BLE001 - not a torch module after all
            pass
    if depth and isinstance(value, (list, tuple, dict)):
        items = value.values() if isinstance(value, dict) else value
        for item in list(items)[:50]:
            found += _stealable(item, depth - 1)
    return found


def make_thief(ns: dict, names) -> dict:
    """Wrap the functions ``names`` of the notebook namespace ``ns`` (in place)."""
    stolen = {}

    def steal(args, kwargs):
        for value in [*ns.values(), *args, *kwargs.values()]:
            for obj in _stealable(value):
                stolen.setdefault(reference_name(obj), obj)
        for name, obj in stolen.items():
            if name in names:
                ns[name] = obj  # for good: graders of classes find it in the globals

    def wrap(name, original):
        @functools.wraps(original)
        def thief(*args, **kwargs):
            steal(args, kwargs)
            own = stolen.get(name)
            if own is not None:
                return own(*args, **kwargs)
            return original(*args, **kwargs)

        return thief

    for name in names:
        if callable(ns.get(name)) and not isinstance(ns[name], type):
            ns[name] = wrap(name, ns[name])
    ns["__stolen__"] = stolen
    return ns
