"""Tools built on training and writing: legibility evaluation, releases, benchmarks, plots."""
