// Picture-in-picture of the person speaking (or the other person), so a therapist can
// keep them in view while reading notes in another window. Hidden where the browser
// has no picture-in-picture.
const TARGETS = ['.tile.speaking video[data-role="remote"]', 'video[data-role="remote"]'];

export function mountPictureInPicture(buttonEl) {
  if (!document.pictureInPictureEnabled) return;
  buttonEl.hidden = false;
  const render = () => {
    const on = Boolean(document.pictureInPictureElement);
    buttonEl.setAttribute("aria-pressed", String(on));
    buttonEl.textContent = on ? "Exit picture-in-picture" : "Picture-in-picture";
  };
  buttonEl.addEventListener("click", async () => {
    try {
      if (document.pictureInPictureElement) {
        await document.exitPictureInPicture();
      } else {
        const video = TARGETS.map((s) => document.querySelector(s)).find((v) => v && v.readyState >= 1);
        if (video) {
          video.addEventListener("leavepictureinpicture", render, { once: true });
          await video.requestPictureInPicture();
        }
      }
    } catch (err) {
      console.warn("picture-in-picture failed", err);
    }
    render();
  });
  render();
}
