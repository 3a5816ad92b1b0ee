"""UV Gaussian map: layout (valid texels bound to the head mesh), atlas packing, initial maps."""
