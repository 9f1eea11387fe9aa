"""Parts of pages that are more than a few lines: each module draws one thing."""
