"""pytest plugin for the notebook checks: nbval ignores stderr (XLA and progress noise)."""


def pytest_collectstart(collector):
    if getattr(collector, "fspath", None) is not None and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr",)
