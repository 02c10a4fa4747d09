"""Feed sources: each yields normalised posts behind one small protocol."""
