"""Page components, one module per page (or pair of closely related pages)."""
