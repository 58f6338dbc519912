// The ops dashboard: wires the feed (the only socket owner) to the views.
import { AlertsList } from "./alerts.js";
import { forgetOpsToken, OpsFeed, takeOpsToken } from "./feed.js";
import { RoomDetail } from "./room-detail.js";
import { RoomsTable } from "./rooms-table.js";
import { StatusBar } from "./status.js";

const byId = (id) => document.getElementById(id);

function start() {
  const feed = new OpsFeed(takeOpsToken());
  let serverOffset = 0; // server clock minus local clock, seconds
  const serverNow = () => Date.now() / 1000 + serverOffset;

  const status = new StatusBar({
    state: byId("conn-state"),
    updated: byId("last-update"),
    summary: byId("summary"),
    refused: byId("refused"),
    refusedText: byId("refused-text"),
    board: byId("board"),
  });

  const choose = (roomId) => {
    if (detail.roomId === roomId) {
      detail.focus();
      return;
    }
    feed.watch(roomId);
    table.select(roomId);
    detail.open(roomId);
    detail.focus();
  };
  const closeDetail = () => {
    const roomId = detail.roomId;
    feed.watch(null);
    table.select(null);
    detail.close();
    if (roomId) table.focusRoom(roomId);
  };

  const table = new RoomsTable(
    { body: byId("rooms-body"), empty: byId("rooms-empty"), table: byId("rooms") }, choose);
  const detail = new RoomDetail({
    panel: byId("detail"),
    title: byId("detail-title"),
    meta: byId("detail-meta"),
    empty: byId("detail-empty"),
    list: byId("members"),
    close: byId("detail-close"),
  }, closeDetail);
  const alerts = new AlertsList(
    { list: byId("alerts"), empty: byId("alerts-empty"), live: byId("alerts-live") }, choose);

  feed.on("status", (change) => {
    status.showState(change);
    if (change.state === "refused") forgetOpsToken();
  });
  feed.on("snapshot", ({ snapshot, receivedAt }) => {
    serverOffset = snapshot.at - receivedAt;
    status.snapshot(snapshot, receivedAt);
    table.render(snapshot.rooms);
    alerts.render(Array.isArray(snapshot.alerts) ? snapshot.alerts : [], snapshot.at);
    if (detail.roomId !== null) {
      const listed = snapshot.rooms.some((room) => room.id === detail.roomId);
      detail.render(snapshot.room, snapshot.at, listed);
    }
    document.body.dataset.ready = "true";
  });

  setInterval(() => {
    status.tick(Date.now() / 1000);
    alerts.tick(serverNow());
  }, 1000);

  feed.start();
}

start();
