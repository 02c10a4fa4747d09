"""The brief: ranked resources, listed and found voices, and offers matched to requests."""
