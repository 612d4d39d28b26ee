"""The performance benchmark (``python3.11 dev.py bench``): Jixiao's hot paths against plain baselines.

Run by hand, never by the test command: pytest's ``testpaths`` (pyproject.toml) do not include this folder.
See docs/performance.md.
"""
