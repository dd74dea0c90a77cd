"""Writing: the network's side. The public ``Hand`` API, the sampler engines, styles (primes)
and users' own ink, and text flowed onto sheets by a hand (``paged``); what a drawing becomes
(layout, SVG, PNG, PDF) is :mod:`handwriting.output`."""
