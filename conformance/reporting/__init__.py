"""Reports of a conformance run: what a release manager reads and what CI gates on.

A run directory (``reports/<run-id>/``) holds the run's own record — ``run.json`` (the
manifest), ``matrix.json`` (campaigns, failures, traces, coverage), ``stats.json`` and
``bench.json`` — and what is rendered from it: ``junit.xml``, ``allure-results/`` and
``report.html``. Rendering reads only those files, so ``syncrig report RUN_DIR`` rebuilds
the same reports from a run made on another machine.
"""
