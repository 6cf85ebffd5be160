"""Small helpers every writer shares: atomic files and JSON (`files`),
uint8 pixels and image grids (`images`)."""
