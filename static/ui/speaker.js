// Audio output choice (setSinkId where the browser supports it) for every remote media element.
let sinkId = "";

export const speakerChoiceSupported = typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;

export async function setSpeaker(deviceId) {
  // Safari and Firefox before 116 have no setSinkId: audio plays on the system's output.
  if (!speakerChoiceSupported) return;
  sinkId = deviceId;
  const elements = document.querySelectorAll("[data-sink]");
  await Promise.all([...elements].map((el) => el.setSinkId(deviceId).catch(() => {})));
}

/** Route this element to the chosen speaker, now and after later choices. */
export function useSpeaker(element) {
  element.dataset.sink = "";
  if (speakerChoiceSupported && sinkId) element.setSinkId(sinkId).catch(() => {});
}
