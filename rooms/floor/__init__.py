"""Turn-taking: floor modes, hand queue, go-around, timers, fair-share limits."""
