// The therapist's today page: today's sessions, who waits in each waiting room, a start
// or join button for each; the week at a glance below (static/ui/today-week.js).
import { askServer, takePersonalKey } from "./personal-key.js";
import { showWeek } from "./today-week.js";

const REFRESH_EVERY_MS = 10_000;
const status = document.getElementById("today-status");
const list = document.getElementById("today-sessions");
const title = document.getElementById("today-title");

function line(text) {
  const p = document.createElement("p");
  p.textContent = text;
  return p;
}

function sessionItem(session, key) {
  const item = document.createElement("li");
  const heading = document.createElement("h2");
  heading.textContent = `${session.start}–${session.end} ${session.kind}` +
    (session.member ? ` with ${session.member}` : "");
  item.append(heading);
  const states = { upcoming: "Not open yet", open: "Open now", closed: "Closed" };
  item.append(line(states[session.state] || session.state));
  if (session.state === "open") {
    item.append(line(`Present: ${session.present_count}`));
    item.append(line(session.waiting.length
      ? `Waiting: ${session.waiting.join(", ")}`
      : "Nobody is waiting."));
    const button = document.createElement("button");
    button.type = "button";
    const verb = session.started ? "Join" : "Start";
    button.textContent = `${verb} ${session.start} ${session.kind}`;
    button.addEventListener("click", () => enter(key, session.occurrence, button));
    item.append(button);
  }
  return item;
}

async function enter(key, occurrence, button) {
  button.disabled = true;
  try {
    const { url } = await askServer("/api/personal/join", { key, occurrence });
    location.assign(url);
  } catch (error) {
    status.textContent = error.message;
    button.disabled = false;
  }
}

async function refresh(key) {
  try {
    const today = await askServer("/api/personal/today", { key });
    title.textContent = `${today.program}: ${today.date}`;
    const items = today.sessions.map((s) => sessionItem(s, key));
    list.replaceChildren(...(items.length ? items : [line("No sessions today.")]));
    status.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    status.textContent = error.message;
    return;
  }
  setTimeout(() => refresh(key), REFRESH_EVERY_MS);
}

const key = takePersonalKey();
if (key) {
  refresh(key);
  showWeek(key, status);
  document.getElementById("week-refresh").addEventListener("click", () => showWeek(key, status));
} else {
  status.textContent = "This page needs the personal link your clinic sent you.";
}
