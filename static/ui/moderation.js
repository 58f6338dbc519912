// Moderation and turn-taking (group rooms): the place where those controls live.
// Today: the therapist's waiting-room list (Admit / Turn away), since group rooms
// admit manually by default. Later (marked below): mute, floor modes, hand queue,
// talk time, in <section id="moderation"> and <section id="floor">.
// Server events arrive through the SessionClient's emitter; commands go out with
// client.command(event, payload) (see docs/protocol.md).

/**
 * @param {{floor: HTMLElement, moderation: HTMLElement, self: object, client: object, ack?: object}} ctx
 */
export function mountModeration({ floor, moderation, self, client, ack }) {
  floor.dataset.ready = "true";
  moderation.dataset.role = self.role;
  if (self.role !== "therapist") return;
  const lobby = new WaitingRoomList(moderation, client);
  lobby.render(ack?.waiting ?? []);
  client.on("lobby.state", ({ waiting }) => lobby.render(waiting ?? []));
  // LATER: floor controls (floor.mode, floor.grant_next, ...) and moderation.mute etc.
}

class WaitingRoomList {
  #root;
  #client;

  constructor(container, client) {
    this.#client = client;
    this.#root = document.createElement("div");
    this.#root.className = "waiting-room";
    container.append(this.#root);
  }

  render(waiting) {
    if (waiting.length === 0) {
      this.#root.replaceChildren();
      return;
    }
    const heading = document.createElement("h2");
    heading.textContent = `Waiting room (${waiting.length})`;
    const list = document.createElement("ul");
    for (const member of waiting) {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = member.name;
      item.append(
        name,
        this.#button("Admit", `Admit ${member.name}`, "lobby.admit", member.id),
        this.#button("Turn away", `Turn away ${member.name}`, "lobby.deny", member.id),
      );
      list.append(item);
    }
    this.#root.replaceChildren(heading, list);
  }

  #button(text, label, event, memberId) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = text;
    button.setAttribute("aria-label", label);
    button.addEventListener("click", () => {
      button.disabled = true;
      this.#client.command(event, { member: memberId }).catch((err) => {
        button.disabled = false;
        console.warn(`${event} failed`, err);
      });
    });
    return button;
  }
}
