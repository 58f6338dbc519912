"""Room stores: one interface, a memory and a Redis backend, chosen in `factory`."""
