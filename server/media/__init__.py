"""Group media: the relay (SFU), the relay per room, voice activity, ICE and TURN config."""
