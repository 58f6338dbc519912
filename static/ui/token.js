// The join token: read once from the link's fragment, then kept only in this
// tab's sessionStorage (so a reload works) and removed from the address bar
// (so it is not shared by copy-paste or a screenshot).
const LINK_KEY = "telehealth.link-token";
const RESUME_KEY = "telehealth.resume-token";

export function takeLinkToken() {
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get("t");
  if (fromFragment) {
    sessionStorage.setItem(LINK_KEY, fromFragment);
    sessionStorage.removeItem(RESUME_KEY);
    history.replaceState(history.state, "", location.pathname + location.search);
    return fromFragment;
  }
  return sessionStorage.getItem(LINK_KEY);
}

export function storedResumeToken() {
  return sessionStorage.getItem(RESUME_KEY);
}

export function storeResumeToken(token) {
  sessionStorage.setItem(RESUME_KEY, token);
}
