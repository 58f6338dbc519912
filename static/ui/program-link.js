// A member's personal link: opens the session that is on now, or says when the next is.
import { askServer, takePersonalKey } from "./personal-key.js";

const CHECK_EVERY_MS = 30_000;
const message = document.getElementById("program-message");
const title = document.getElementById("program-title");

async function check(key) {
  try {
    const entry = await askServer("/api/personal/entry", { key });
    if (entry.state === "therapist") {
      location.replace(entry.url + "#k=" + encodeURIComponent(key));
      return;
    }
    title.textContent = entry.program;
    message.textContent = entry.message;
    if (entry.state === "open") {
      location.assign(entry.url);
      return;
    }
  } catch (error) {
    message.textContent = error.message;
    return;
  }
  // The page stays useful if left open: it opens the session when its room opens.
  setTimeout(() => check(key), CHECK_EVERY_MS);
}

const key = takePersonalKey();
if (key) {
  check(key);
} else {
  message.textContent = "This page needs the personal link your clinic sent you.";
}
