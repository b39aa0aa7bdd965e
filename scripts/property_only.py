"""pytest plugin: keep only the Hypothesis property tests (``-p property_only``, see fresh_seeds.py).

The Hypothesis seed changes nothing else in the suite, so these are the tests a fresh
``--hypothesis-seed`` can turn red.
"""

from __future__ import annotations

from hypothesis import is_hypothesis_test


def pytest_collection_modifyitems(config, items):  # noqa: ARG001 - pytest hook signature
    kept = [item for item in items if is_hypothesis_test(getattr(item, "obj", None))]
    deselected = [item for item in items if item not in kept]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    items[:] = kept
