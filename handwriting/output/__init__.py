"""What a drawing becomes: pages, paper, PDF and pen-plotter output."""
