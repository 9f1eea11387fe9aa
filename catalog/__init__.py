"""govcat's library: declarations, sources, validation, privacy, publishing, search and queries."""
