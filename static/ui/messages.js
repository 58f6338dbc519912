// Human wording for every refusal and ending the protocol can report.
const INVALID = {
  title: "This link is not valid",
  text: "This link is not valid. Check that you opened the whole link from your clinic's message, or ask your clinic for a new link.",
};

const MESSAGES = {
  token_missing: {
    title: "No join link",
    text: "This page needs the join link your clinic sent you. Open that link to join your session.",
  },
  token_malformed: INVALID,
  token_bad_signature: INVALID,
  token_bad_algorithm: INVALID,
  token_bad_audience: INVALID,
  token_expired: {
    title: "This link has expired",
    text: "This link has expired. Ask your clinic for a new link.",
  },
  token_not_yet_valid: {
    title: "This link is not active yet",
    text: "This link is not active yet. Try again closer to the time of your session.",
  },
  token_revoked: {
    title: "This link was withdrawn",
    text: "This link has been withdrawn and can no longer be used. Contact your clinic if you think this is a mistake.",
  },
  room_not_found: {
    title: "Session not found",
    text: "This session could not be found. It may have expired. Ask your clinic for a new link.",
  },
  room_ended: { title: "This session has ended", text: "This session has ended. You can close this page." },
  unavailable: {
    title: "Briefly unavailable",
    text: "The session service is briefly unavailable. Wait a moment, then reload this page to try again.",
  },
  ended: { title: "This session has ended", text: "This session has ended. You can close this page." },
  seat_taken: {
    title: "Someone is already in this seat",
    text: "Someone else has already joined this session in this seat, so you cannot join with this link. Contact your clinic if you think this is a mistake.",
  },
  room_full: {
    title: "This session is full",
    text: "This group session is full. Contact your clinic.",
  },
  not_allowed: {
    title: "Not allowed",
    text: "This link does not allow you to join this session. Contact your clinic.",
  },
  origin_not_allowed: {
    title: "Cannot connect from here",
    text: "This page cannot connect to the session from this address. Open the link exactly as your clinic sent it.",
  },
  replaced: {
    title: "Session opened elsewhere",
    text: "This session was opened in another tab or device. Your camera and microphone are now off here.",
  },
  removed: {
    title: "You were removed from the session",
    text: "A therapist removed you from this session. Contact your clinic if you think this is a mistake.",
  },
  denied: {
    title: "You were not admitted",
    text: "The therapist did not admit you to this session. Contact your clinic if you think this is a mistake.",
  },
  room_locked: {
    title: "This session is locked",
    text: "The therapist has locked this session, so nobody new can join right now. Try again in a moment, or contact your clinic.",
  },
  left: { title: "You left the session", text: "You have left the session. You can close this page." },
  disconnected: {
    title: "Disconnected",
    text: "You were disconnected from the session. Reload the page to try again.",
  },
  unreachable: {
    title: "Cannot reach the session",
    text: "We cannot reach the session server. Check your internet connection and reload the page.",
  },
  not_connected: {
    title: "Connection lost",
    text: "The connection to the session was lost. Reload the page to try again.",
  },
  not_joined: {
    title: "Not in the session",
    text: "You are not in this session yet. Reload the page to join again.",
  },
  auth_timeout: {
    title: "Could not connect",
    text: "The page took too long to connect to the session. Reload the page to try again.",
  },
  join_timeout: {
    title: "Connection closed",
    text: "This page was open for a long time without joining, so it was disconnected. Reload the page to try again.",
  },
  too_many_connections: {
    title: "Too many open pages",
    text: "Too many session pages are open from your network. Close some of them, then reload this page.",
  },
  flooding: {
    title: "Disconnected",
    text: "This page sent too many messages and was disconnected. Reload the page to try again.",
  },
};

export function messageFor(code) {
  return (
    MESSAGES[code] ?? {
      title: "Something went wrong",
      text: `Something went wrong (${code}). Reload the page, or ask your clinic for help.`,
    }
  );
}
