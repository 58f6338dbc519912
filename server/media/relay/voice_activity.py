"""Voice activity from RFC 6464 audio levels: no audio decoding."""

from __future__ import annotations

from dataclasses import dataclass

SILENCE_LEVEL = 127  # RFC 6464: level is -dBov, 0 loudest, 127 silence


@dataclass(frozen=True)
class VoiceActivityConfig:
    """``voiced_level``: a packet at or below this level (-dBov) carries voice.
    ``onset_packets``: consecutive voiced packets needed to start speaking, so a
    click or a cough does not count. ``hangover``: seconds speaking lasts after
    the last voiced packet, so the pauses between words do not split a turn.
    """

    voiced_level: int = 50
    onset_packets: int = 3
    hangover: float = 0.4

    def __post_init__(self) -> None:
        if not 0 <= self.voiced_level <= SILENCE_LEVEL:
            raise ValueError("voiced_level must be within 0..127")
        if self.onset_packets < 1:
            raise ValueError("onset_packets must be at least 1")
        if self.hangover < 0:
            raise ValueError("hangover must not be negative")


class VoiceActivityDetector:
    """Speaking / not speaking for one member, from the levels of its audio packets.

    Pure: time is passed in. ``observe`` and ``tick`` return the new state when
    it changes, else None. Call ``tick`` periodically so speaking ends even when
    packets stop arriving (a closed gate, DTX, a lost connection).
    """

    def __init__(self, config: VoiceActivityConfig | None = None) -> None:
        self._config = config or VoiceActivityConfig()
        self._speaking = False
        self._voiced_run = 0
        self._last_voiced: float | None = None

    @property
    def speaking(self) -> bool:
        return self._speaking

    def observe(self, level: int, now: float) -> bool | None:
        if level <= self._config.voiced_level:
            self._voiced_run += 1
            self._last_voiced = now
            if not self._speaking and self._voiced_run >= self._config.onset_packets:
                return self._set(True)
            return None
        self._voiced_run = 0
        return self.tick(now)

    def tick(self, now: float) -> bool | None:
        if (
            self._speaking
            and self._last_voiced is not None
            and now - self._last_voiced > self._config.hangover
        ):
            return self._set(False)
        return None

    def reset(self) -> bool | None:
        """Forget everything (the member left or was gated); returns False if it was speaking."""
        self._voiced_run = 0
        self._last_voiced = None
        return self._set(False) if self._speaking else None

    def _set(self, speaking: bool) -> bool:
        self._speaking = speaking
        if not speaking:
            self._voiced_run = 0
        return speaking
