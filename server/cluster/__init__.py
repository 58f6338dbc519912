"""Several processes on one Redis: room ownership, command routing, fan-out."""
