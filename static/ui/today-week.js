// The week at a glance as two small tables of bars (<meter>: the browser says the value
// to screen readers): hours against the weekly target, participants against the
// billable maximum. Loaded on demand: each load is an audited read of attendance.
import { askServer } from "./personal-key.js";

function cell(...children) {
  const td = document.createElement("td");
  td.append(...children);
  return td;
}

function bar(value, max, label) {
  const meter = document.createElement("meter");
  meter.min = 0;
  meter.max = Math.max(max, value, 1);
  meter.value = value;
  meter.optimum = meter.max;
  meter.setAttribute("aria-label", label);
  return meter;
}

function memberRow(member, target) {
  const row = document.createElement("tr");
  const th = document.createElement("th");
  th.scope = "row";
  th.textContent = member.name;
  const text = `${member.hours} of ${target} h`;
  row.append(th, cell(bar(member.hours, target, `${member.name}: ${text}`), text),
    cell(String(member.missed)));
  return row;
}

function sessionRow(session, maximum) {
  const row = document.createElement("tr");
  const th = document.createElement("th");
  th.scope = "row";
  th.textContent = `${session.when} ${session.kind}`;
  const text = `${session.participant_count} of ${maximum}` +
    (session.over_billable ? " (over the billable maximum)" : "");
  const note = document.createElement("span");
  note.textContent = text;
  if (session.over_billable) note.className = "over";
  const meter = bar(session.participant_count, maximum, `${th.textContent}: ${text}`);
  meter.high = maximum;
  row.append(th, cell(meter, note));
  return row;
}

export async function showWeek(key, status) {
  try {
    const week = await askServer("/api/personal/week", { key });
    document.querySelector("#week-title").textContent = `The week at a glance (${week.week})`;
    document.querySelector("#week-members tbody")
      .replaceChildren(...week.members.map((m) => memberRow(m, week.target_hours)));
    document.querySelector("#week-sessions tbody")
      .replaceChildren(...week.sessions.map((s) => sessionRow(s, week.max_billable_group)));
  } catch (error) {
    status.textContent = error.message;
  }
}
