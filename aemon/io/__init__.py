"""Reading and writing aemon recordings and event files."""
