"""Writing: the public ``Hand`` API, the sampler, styles (primes), users' own ink, line layout
and rendering to SVG, PNG and animated SVG."""
