"""Room stores: one interface; SQLite (default), Redis and memory backends, picked in `factory`."""
