// Small DOM and wording helpers shared by the group-room panels.
import { announce } from "./status.js";

/** `el("p", {className: "x", text: "hi"}, child, ...)`: attributes starting with data-/aria- are set as such. */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key.startsWith("data-") || key.startsWith("aria-") || key === "role" || key === "for") {
      node.setAttribute(key, value === true ? "true" : String(value));
    } else node[key] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** A button with visible text and, when given, a fuller accessible name. */
export function button(text, { label, className, onClick, pressed } = {}) {
  const node = el("button", { type: "button", text, className, "aria-label": label });
  if (pressed !== undefined) node.setAttribute("aria-pressed", String(Boolean(pressed)));
  if (onClick) node.addEventListener("click", onClick);
  return node;
}

/** 75 -> "1:15"; null/NaN -> "–". */
export function clock(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** 75 -> "1 min 15 s" (for screen readers and summaries). */
export function spokenDuration(seconds) {
  const s = Math.max(0, Math.round(seconds ?? 0));
  const m = Math.floor(s / 60);
  if (m === 0) return `${s} s`;
  return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
}

export function ordinal(n) {
  const rest = n % 100;
  if (rest >= 11 && rest <= 13) return `${n}th`;
  return `${n}${{ 1: "st", 2: "nd", 3: "rd" }[n % 10] ?? "th"}`;
}

export const MODE_NAMES = {
  open: "Open discussion",
  hand_queue: "Hand queue",
  go_around: "Check-in round",
  directed: "Directed",
};

// A frame this page should never send (a bug, or a page out of date): the server refused it.
const UNUSABLE_MESSAGE = "The server could not use a message from this page. Reload the page.";

const FLOOR_REFUSALS = {
  not_allowed: "Only a therapist can do that.",
  waiting: "You are still in the waiting room.",
  no_floor_in_open_mode: "In open discussion nobody holds the floor: everyone may speak.",
  not_in_hand_queue_mode: "That works only in hand-queue mode.",
  not_in_go_around_mode: "That works only during a check-in round.",
  go_around_in_progress: "A check-in round is running: the round decides who speaks next.",
  no_members: "Nobody is here for a check-in round yet.",
  hand_already_raised: "Your hand is already raised.",
  not_in_queue: "Your hand is not raised.",
  queue_empty: "Nobody is waiting in the hand queue.",
  holds_floor: "You already have the floor.",
  not_floor_holder: "You do not have the floor right now.",
  no_floor_holder: "Nobody has the floor right now.",
  no_turn_limit: "This turn has no time limit to extend.",
  already_had_turn: "That person already had their turn in this round.",
  floor_taken: "Someone has the floor: end their turn before inviting someone else.",
  chat_off: "The therapist has turned chat off for members.",
  private_chat_not_allowed: "Private messages go between the therapist and one member.",
  empty_message: "Write something before sending.",
  no_checkin: "This session does not ask for emergency information.",
  screen_share_not_allowed: "The therapist has not allowed you to share your screen.",
  screen_share_busy: "Someone else is sharing a screen. Only one share at a time.",
  not_sharing: "Nobody is sharing a screen right now.",
  not_waiting: "That person is no longer in the waiting room.",
  not_admitted: "That person is already in the waiting room.",
  not_a_group: "That works only in group sessions.",
  unknown_member: "That person is no longer in this session.",
  unknown_peer: "That person is no longer in this session.",
  not_a_member: "That person is not in the group right now.",
  already_a_member: "That person is already in the group.",
  invalid_extension: "Choose a positive amount of extra time.",
  invalid_sdp: "The media connection could not be set up. Reload the page to try again.",
  illegal_transition: "The session could not make that change. Reload the page.",
  malformed_frame: UNUSABLE_MESSAGE,
  nesting_too_deep: UNUSABLE_MESSAGE,
  binary_not_allowed: UNUSABLE_MESSAGE,
  unknown_event: UNUSABLE_MESSAGE,
  invalid_payload: UNUSABLE_MESSAGE,
  message_too_large: UNUSABLE_MESSAGE,
  rate_limited: "Too many actions at once. Try again in a moment.",
  unavailable: "The session service is briefly unavailable. Try again in a moment.",
  offline: "Not connected right now. Try again in a moment.",
  timeout: "The server did not answer. Try again.",
};

export function refusalText(err) {
  return FLOOR_REFUSALS[err?.code] ?? `That did not work (${err?.code ?? "error"}).`;
}

/**
 * Send a command; the button (if any) is disabled while it is on its way and enabled
 * again only on a refusal (on success the panel re-renders from the new state). A
 * refusal is announced in plain words. Resolves with the ack, or null when refused.
 */
export async function run(client, event, payload = {}, trigger = null) {
  if (trigger) trigger.disabled = true;
  try {
    return await client.command(event, payload);
  } catch (err) {
    // Ending the session (or being removed) closes the connection before any ack: the notice says it all.
    if (client.state === "closed") return null;
    console.warn(`${event} failed`, err);
    announce(refusalText(err));
    if (trigger) trigger.disabled = false;
    return null;
  }
}

/** An inline "are you sure?" step in place of window.confirm (keyboard- and test-friendly). */
export function confirmStep(container, question, confirmText, onConfirm, { label } = {}) {
  const box = el("div", { className: "confirm", role: "group", "aria-label": label ?? question });
  const cancel = button("Cancel", { onClick: () => close() });
  const yes = button(confirmText, { className: "danger", onClick: async () => {
    yes.disabled = true;
    await onConfirm();
    close();
  } });
  box.append(el("p", { text: question }), el("div", { className: "actions" }, yes, cancel));
  container.replaceChildren(box);
  container.hidden = false;
  cancel.focus();
  function close() {
    container.replaceChildren();
    container.hidden = true;
  }
  return close;
}
