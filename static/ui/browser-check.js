// Runs before the app (a classic, deferred script in old syntax on purpose): a browser
// that cannot make WebRTC calls, or cannot even load the app's modules, gets a clear
// page naming the browsers that work instead of a silent black tile (issue 17).
// The supported versions are the matrix in docs/client.md.
(function () {
  "use strict";
  var WORKING_BROWSERS =
    "Chrome, Edge or Firefox on a computer or Android phone, or Safari on a Mac, iPhone or iPad " +
    "(iOS 15.4 or newer). Keep the browser up to date.";
  var PAGES = {
    browser_unsupported: {
      title: "This browser cannot join video sessions",
      text: "This browser cannot make video calls. Open your join link in " + WORKING_BROWSERS,
    },
    insecure_page: {
      title: "This page is not secure",
      text: "Browsers only allow the camera and microphone on secure pages (https). " +
        "Open the join link exactly as your clinic sent it, or ask your clinic for help.",
    },
  };

  function missingFeatures() {
    var missing = [];
    if (typeof window.RTCPeerConnection !== "function") missing.push("RTCPeerConnection");
    var devices = navigator.mediaDevices;
    if (!devices || typeof devices.getUserMedia !== "function") missing.push("getUserMedia");
    if (!("noModule" in document.createElement("script"))) missing.push("modules");
    return missing;
  }

  function problem() {
    var missing = missingFeatures();
    if (missing.length === 0) return null;
    // Without https (and away from localhost) every browser hides getUserMedia.
    if (window.isSecureContext === false) return { code: "insecure_page", missing: missing };
    return { code: "browser_unsupported", missing: missing };
  }

  var found = problem();
  if (!found) return;
  // app.js looks for this and does not start (so nothing connects or asks for the camera).
  document.documentElement.setAttribute("data-unsupported", found.missing.join(" "));
  var page = PAGES[found.code];
  var notice = document.getElementById("notice");
  notice.setAttribute("data-code", found.code);
  document.getElementById("notice-title").textContent = page.title;
  document.getElementById("notice-text").textContent = page.text;
  document.getElementById("device-check").hidden = true;
  document.getElementById("call").hidden = true;
  notice.hidden = false;
  document.getElementById("status").textContent = page.title;
  document.getElementById("notice-title").focus();
})();
