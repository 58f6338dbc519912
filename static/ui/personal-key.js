// A personal link's secret: read once from the fragment (#k=…), then kept only in this
// tab's sessionStorage (a reload works) and removed from the address bar, as join
// tokens are (static/ui/token.js). It travels to the server only in POST bodies.
const KEY = "telehealth.personal-key";

export function takePersonalKey() {
  const fromFragment = new URLSearchParams(location.hash.slice(1)).get("k");
  if (fromFragment) {
    sessionStorage.setItem(KEY, fromFragment);
    history.replaceState(history.state, "", location.pathname + location.search);
    return fromFragment;
  }
  return sessionStorage.getItem(KEY);
}

export async function askServer(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = data?.error?.message || "The server could not answer. Try again shortly.";
    throw new Error(message);
  }
  return data;
}
