"""Three small C extensions; everything else is in pyproject.toml (ADR 0008).

- ``journeymine.journeys._kernel``: the ordered funnel's chain matching (NumPy form: ``_chains.py``);
- ``journeymine.store._order``: the order check of the store's clustered scans (NumPy form: ``_store.py``);
- ``journeymine.ingest._scan``: the XES reader's first pass over a chunk (NumPy form: ``_xes.py``).

All are optional: without a C compiler the install still succeeds and journeymine uses the NumPy
forms, which give identical results (tested).
"""

from setuptools import Extension, setup

setup(ext_modules=[
    Extension("journeymine.journeys._kernel", ["src/journeymine/journeys/_kernel.c"], extra_compile_args=["-O3"],
              optional=True),
    Extension("journeymine.store._order", ["src/journeymine/store/_order.c"], extra_compile_args=["-O3"], optional=True),
    Extension("journeymine.ingest._scan", ["src/journeymine/ingest/_scan.c"], extra_compile_args=["-O3"], optional=True),
])
