// The join page: token -> connect -> device check -> "Join session" -> call view.
import { SessionClient } from "../protocol.js";
import { CallView } from "./call-view.js";
import { ArrivalNotice } from "./arrival-notice.js";
import { ChatPanel } from "./chat.js";
import { CheckinCard, CheckinForm } from "./checkin.js";
import { ConnectionCheck } from "./connection-check.js";
import { DeviceCheck } from "./device-check.js";
import { GroupView } from "./group-view.js";
import { LocalMedia } from "./local-media.js";
import { messageFor } from "./messages.js";
import { mountPictureInPicture } from "./pip.js";
import { ScreenShare } from "./screen-share.js";
import { SessionClock } from "./session-clock.js";
import { announce, showNotice } from "./status.js";
import { exposeTestHooks } from "./test-hooks.js";
import { storeResumeToken, storedResumeToken, takeLinkToken } from "./token.js";
import { Controls } from "./controls.js";
import { AudioOnlyControl } from "./audio-only.js";
import { mountVideoNotes } from "./video-notes.js";

const media = new LocalMedia();
let client = null;
let view = null;
let controls = null;
let deviceCheck = null;
let screenShare = null;

function main() {
  // browser-check.js already showed why this browser cannot join.
  if (document.documentElement.hasAttribute("data-unsupported")) return;
  const token = takeLinkToken();
  if (!token) {
    showNotice("token_missing");
    return;
  }
  deviceCheck = new DeviceCheck(media);
  media.on("track", ({ kind, track }) => {
    client?.replaceTrack(kind, track).catch((err) => console.warn("could not send the new track", err));
    controls?.render();
  });
  media.on("state", (state) => client?.setMediaState(state));
  start(token, false);
}

function start(token, usingResumeToken) {
  const session = new SessionClient({ token, onResumeToken: storeResumeToken });
  client = session;
  exposeTestHooks(session, () => view);
  let checking = false;

  session.on("state", ({ to, reason }) => {
    if (to === "ready" && !checking) {
      checking = true;
      announce("Connected. Check your camera and microphone.");
      runDeviceCheck(session);
    } else if (to === "connecting" && !checking) {
      announce("Connecting…");
    } else if (to === "reconnecting") {
      view?.setOnline(false);
      announce("Your connection dropped. Reconnecting…");
    } else if (to === "joined") {
      view?.setOnline(true);
    } else if (to === "closed") {
      // A reloaded tab whose link has expired can still resume with its resume token.
      const resume = storedResumeToken();
      if (reason === "token_expired" && !usingResumeToken && resume && session.self === null) {
        start(resume, true);
        return;
      }
      finish(reason);
    }
  });
  // The server restarts (a deploy): the client reconnects and resumes by itself.
  session.on("restarting", ({ message }) => announce(message));
  session.on("network", ({ online }) => {
    if (!online && session.state === "connecting") announce("Cannot reach the session server. Retrying…");
  });
  session.on("roster", (peers) => view?.setPeers(peers));
  session.on("remote-stream", ({ peerId, stream }) => view?.setStream(peerId, stream));
  session.on("link-state", ({ peerId, state }) => view?.setLinkState(peerId, state));
  session.on("speaking", ({ id, speaking }) => view?.setSpeaking(id, speaking));
  // Our own level, and (for therapists) everyone's: the server decides who hears which.
  session.on("quality.update", ({ id, level }) =>
    view?.setQuality(id === session.self?.id ? "self" : id, level));
  session.on("admission", ({ admission }) => {
    view?.setAdmission(admission);
    if (view && admission === "admitted") announce("The therapist let you in.");
    if (view && admission === "waiting") announce("You are in the waiting room.");
  });
  session.on("self-media", (state) => followModerator(state));
  session.on("error", (err) => {
    if (err.code === "rate_limited") announce("Too many actions at once; some were dropped.");
  });
  session.connect();
  announce("Connecting…");
}

async function runDeviceCheck(client) {
  await deviceCheck.show();
  new ConnectionCheck(document.getElementById("join-button"), client);
  const checkin = await checkinForm(client);
  while (client.state !== "closed") {
    await deviceCheck.waitForJoin();
    if (client.state === "closed") return;
    if (checkin && !checkin.ready()) continue;
    deviceCheck.setJoinBusy(true);
    announce("Joining…");
    try {
      const { self, room, peers, ack } = await client.join(media.tracks, media.state);
      checkin?.hide();
      enterCall(client, self, room, peers, ack);
      checkin?.share(client);
      return;
    } catch (err) {
      if (client.state === "closed") return; // the notice is already shown
      announce(err.code === "offline" ? "Not connected yet. Try again in a moment." : messageFor(err.code).text);
      deviceCheck.setJoinBusy(false);
    }
  }
}

/** The emergency-information form, when this link asks for it (individual sessions). */
async function checkinForm(client) {
  try {
    const { required } = await client.command("checkin.state", {});
    return required ? new CheckinForm(document.getElementById("join-button")) : null;
  } catch (err) {
    console.debug("checkin.state not available", err);
    return null;
  }
}

function enterCall(client, self, room, peers, ack) {
  deviceCheck.hide();
  const localVideo = document.querySelector('video[data-role="local"]');
  const pickers = document.getElementById("device-pickers");
  document.getElementById("call-devices").append(pickers);
  view = room.kind === "group" ? new GroupView() : new CallView();
  view.show(localVideo, self, client, ack, {
    unmute: () => {
      media.setMicOn(true);
      controls?.render();
    },
  });
  view.setPeers(peers);
  view.setAdmission(client.admission);
  new ChatPanel(document.getElementById("chat"), client, self, room, ack);
  mountPictureInPicture(document.getElementById("pip-button"));
  screenShare = new ScreenShare(document.getElementById("screen-share"), document.getElementById("share-button"), client, self);
  if (self.role === "therapist") {
    new SessionClock(document.getElementById("connection"), room.id);
    new ArrivalNotice(client, room, ack);
    if (room.kind === "individual") new CheckinCard(document.getElementById("tiles"), client);
  }
  controls = new Controls(media, {
    onLeave: () => client.leave(),
    onError: (text) => announce(text),
  });
  if (room.kind === "group") {
    const tiles = document.getElementById("tiles");
    mountVideoNotes(client, tiles);
    new AudioOnlyControl(document.getElementById("audio-only-button"), client, media, tiles, {
      onChange: () => controls?.render(),
    });
  }
  announce(room.kind === "group" ? "You joined the group session." : "You joined the session.");
  document.getElementById("mic-button").focus({ preventScroll: true });
}

/** A moderator muted us or stopped our video: show it here too (only we can turn it back on). */
function followModerator(state) {
  if (state.muted_by_moderator && media.micOn) {
    media.setMicOn(false);
    announce("The therapist muted you — unmute when you're ready.");
  }
  if (state.video_stopped_by_moderator && media.cameraOn && media.tracks.video) {
    media.setCameraOn(false).catch(() => {});
    announce("A therapist turned off your video. You can turn your camera back on.");
  }
  controls?.render();
}

function finish(reason) {
  media.stop();
  deviceCheck.hide();
  controls?.disable();
  view?.close();
  screenShare?.close();
  showNotice(reason);
}

main();
