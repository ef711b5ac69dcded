"""syncrig's simulator: the device models, scenarios and (later) the reference APIs they drive.

Public entry points are re-exported from :mod:`sim.device` and :mod:`sim.scenario`.
"""
