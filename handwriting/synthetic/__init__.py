"""Synthetic handwriting datasets for training recognisers (``handwriting dataset``).

A job (:mod:`.prepare`) is written as Parquet shards (:mod:`.shards`) by local processes or Ray
tasks (:mod:`.runner`, :mod:`.ray_backend`); every line is drawn from its own random stream
(:mod:`.variety`), written alone with the public writing API and drawn at a fixed height
(:mod:`.worker`, :mod:`.raster`). The folder keeps a manifest and a dataset card
(:mod:`.manifest`, :mod:`.card`).
"""
