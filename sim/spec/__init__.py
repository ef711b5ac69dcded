"""The documented contract of the three APIs, as data.

Each table entry points at the document section it comes from (``../shared/spec/``), and
release behaviour that differs from the documents sits in named overlays that cite
``../shared/research/``. The references in :mod:`sim` take their codes, messages and enum
values from here, so nothing is written twice; the conformance machines and the coverage
matrix read the same tables.
"""

from sim.spec.model import ApiSpec, DocError, EnumMember, MethodSpec

__all__ = ["ApiSpec", "DocError", "EnumMember", "MethodSpec"]
