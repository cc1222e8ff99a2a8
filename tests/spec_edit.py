"""Trial specs as plain data, edited one field at a time for the input-error tests."""

from __future__ import annotations

import copy

REMOVE = KeyError
"""As the value of :func:`edited`: delete the key instead of setting it."""


def edited(base: dict, path: tuple, value) -> dict:
    """A deep copy of ``base`` with the item at ``path`` (keys and list indices) set to ``value``, or deleted when
    ``value`` is :data:`REMOVE`."""
    d = copy.deepcopy(base)
    node = d
    for key in path[:-1]:
        node = node[key]
    if value is REMOVE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return d
