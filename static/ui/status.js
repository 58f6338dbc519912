// The polite aria-live status line and the full-page notice.
import { messageFor } from "./messages.js";

const statusEl = () => document.getElementById("status");

/** Say something short in the status line (read out by screen readers). */
export function announce(text) {
  const el = statusEl();
  if (el && el.textContent !== text) el.textContent = text;
}

/** Replace the page's content with a notice for a refusal/ending code. */
export function showNotice(code) {
  const { title, text } = messageFor(code);
  const notice = document.getElementById("notice");
  notice.dataset.code = code;
  notice.querySelector("#notice-title").textContent = title;
  notice.querySelector("#notice-text").textContent = text;
  for (const id of ["device-check", "call"]) document.getElementById(id).hidden = true;
  notice.hidden = false;
  announce(title);
  notice.querySelector("#notice-title").focus();
}
