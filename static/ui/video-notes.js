// Group tiles say in words why a member's video is not shown (not an icon alone):
// "Video paused to save bandwidth" when the relay's last-N stopped forwarding that
// camera to us (`video.paused`, our downlink is short), and "Audio only" for a member
// who chose to take part by voice (`MEDIA.audio_only`; therapists see who). Notes are
// live regions, so a screen reader hears them change.
import { announce } from "./status.js";

const PAUSED_TEXT = "Video paused to save bandwidth";
const AUDIO_ONLY_TEXT = "Audio only";

export function mountVideoNotes(client, tiles) {
  let paused = new Set();
  let audioOnly = new Set();

  const render = () => {
    for (const tile of tiles.querySelectorAll(".tile[data-member]")) {
      const id = tile.dataset.member;
      const ownChoice = id === "self" && client.selfMedia?.audio_only;
      const reason = ownChoice || audioOnly.has(id) ? "audio-only" : paused.has(id) ? "bandwidth" : "";
      let note = tile.querySelector(".tile-note");
      if (!note && !reason) continue;
      if (!note) {
        note = document.createElement("p");
        note.className = "tile-note";
        note.setAttribute("role", "status");
        tile.append(note);
      }
      note.dataset.reason = reason;
      note.textContent = reason === "audio-only" ? AUDIO_ONLY_TEXT : reason ? PAUSED_TEXT : "";
      note.hidden = !reason;
      // Paused or audio-only: show the member's initials, not a frozen last frame.
      tile.classList.toggle("video-held", Boolean(reason) && id !== "self");
    }
  };

  client.on("roster", (peers) => {
    audioOnly = new Set(peers.filter((p) => p.media?.audio_only).map((p) => p.id));
    render();
  });
  client.on("self-media", () => render());
  client.on("video.paused", ({ members }) => {
    const before = paused.size;
    paused = new Set(members ?? []);
    if (paused.size && !before) announce("Some videos are paused to save bandwidth. You still hear everyone.");
    if (!paused.size && before) announce("All videos are back.");
    render();
  });
  audioOnly = new Set((client.peers ?? []).filter((p) => p.media?.audio_only).map((p) => p.id));
  render();
  return { render };
}
