"""Output: what a drawing becomes. Lines laid out (``layout``) on a page fitted to the ink or on
sheets of paper (``pages``: the page object every output reads, paper sizes, margins, the flow
onto sheets), ruled paper (``paper``), natural page variation (``variation``), SVG / PNG /
animated SVG (``render``), PDF (``pdf``), pen-plotter output (``plotter``, ``plotter_page``,
``stroke_order``), and the ``Drawing`` that ``Hand.write`` returns (``drawing``). Pure numpy and
file formats: nothing here knows the network."""
