// The page: camera -> server (WebRTC) -> guarded avatar back, with status on a data channel.
// Signalling is aiortc's: POST /offer with JSON {sdp, type} plus optional fields; a call ends
// with POST session/<id>/end, which answers how it went. Calls follow one another on one page.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_UPLOAD = 5 * 1024 * 1024;
const POLICY_TEXT = { block: "block the avatar", flag: "only flag it" };
// The phase line follows the verifier's state, and says what others see when it matters.
const STATE_TEXT = {
  WARMING_UP: "Verifying: the evidence is coming in.",
  VERIFIED: "Verified: the enrolled user is driving.",
  SUSPECT: "Checking: the evidence wavers.",
  MISMATCH: "Not the enrolled user.",
  NO_FACE: "No face in view.",
};
const SEEN_TEXT = { flag: " Others see the avatar with a warning.", block: " Others see the slate." };

const plot = new EvidencePlot($("plot"));
let config = null; // GET /config: who enrolls, the policy and whether the owner fixed it
let call = null; // the call in progress: {pc, stream, session, started, timer}
let shownFrames = 0; // avatar frames shown by this page (all calls)
let pageFps = 0;

// What the page does once a call has ended, each step given the server's summary of the call
// (null when the server did not answer). Later steps (offering to add the call to the
// enrollment, signing it) are pushed here.
const afterCall = [showSummary, offerGrowth];

function showError(text) { $("error").textContent = text || ""; }

function waitForIce(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
  });
}

function countFrames(video, current) {
  const tick = () => {
    if (call !== current) return;
    shownFrames += 1;
    video.requestVideoFrameCallback(tick);
  };
  video.requestVideoFrameCallback(tick);
  let last = shownFrames;
  current.timer = setInterval(() => { pageFps = shownFrames - last; last = shownFrames; }, 1000);
}

function base64Of(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result.split(",", 2)[1]);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function signed(value, digits) { return (value >= 0 ? "+" : "") + value.toFixed(digits); }

function phaseOf(msg) {
  if (msg.phase === "enrolling") {
    return `Recording your enrollment: ${Math.round(msg.progress * 100)} % - talk naturally, face to the camera.`;
  }
  return (STATE_TEXT[msg.state] || "Verifying.") + (SEEN_TEXT[msg.action] || "");
}

function showStatus(msg, current) {
  $("progress").value = msg.progress;
  $("phase").textContent = phaseOf(msg);
  if (msg.phase === "verifying") {
    plot.add((performance.now() - current.started) / 1000, msg.score, msg.bounds);
  }
  let evidence = msg.score === null ? "–" : signed(msg.score, 1);
  if (msg.bounds) evidence += ` (VERIFIED at ${signed(msg.bounds[0], 0)}, MISMATCH at ${signed(msg.bounds[1], 0)})`;
  const latency = msg.latency_ms === null || msg.latency_ms === undefined ? "–" : `${msg.latency_ms} ms`;
  $("status").textContent =
    `State: ${msg.state || "–"}${msg.note ? " (" + msg.note + ")" : ""} · evidence: ${evidence}` +
    ` · others see: ${msg.action || "–"}${msg.reason ? " (" + msg.reason + ")" : ""}` +
    ` · fps: ${pageFps} (server ${msg.fps ?? "–"}) · processing latency: ${latency}` +
    (msg.warning ? ` · ⚠ ${msg.warning}` : "");
  $("status").className = `${msg.state || ""} ${msg.action || ""}`;
  showError(msg.error);
}

async function showEnrolled(msg) {
  $("progress").value = 1;
  $("enrolled-text").textContent =
    `Enrolled from ${msg.seconds} s (${msg.windows} motion windows, ${msg.faces} face descriptors).`;
  // Kept in the page, so that it can still be saved once the call has ended.
  const response = await fetch(`enrollment/${msg.session}`);
  if (!response.ok) return;
  $("save").href = URL.createObjectURL(await response.blob());
  $("enrolled").hidden = false;
  // The private key of the pair made with it: the server gives it once, so the page keeps it.
  const key = await fetch(`key/${msg.session}`, { cache: "no-store" });
  if (!key.ok) return;
  $("save-key").href = URL.createObjectURL(await key.blob());
  $("key-id").textContent = msg.key_id;
  $("key").hidden = false;
}

function onMessage(msg, current) {
  if (msg.type === "status") {
    showStatus(msg, current);
  } else if (msg.type === "enrolled") {
    showEnrolled(msg).catch((err) => showError(`The enrollment could not be kept: ${err.message}`));
  } else if (msg.type === "event") {
    $("events").textContent += `${msg.time.toFixed(2)} s  ${msg.state}  ${msg.action}  ${msg.reason}` +
      `${msg.signal ? "  [" + msg.signal + "]" : ""}${msg.warning ? "  ⚠ " + msg.warning : ""}\n`;
  }
}

function bytesOf(base64) { return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)); }

// The id of a private key file's public half (PEM, PKCS#8, as `keys` and this page save it),
// computed in the page: the key is never sent. It is what `keys --show` prints: the first 16
// hex digits of the SHA-256 of the raw public key.
async function keyIdOf(file) {
  const pem = await file.text();
  if (pem.includes("ENCRYPTED")) {
    throw new Error("The key has a passphrase, so this page cannot check it; " +
      "`fingerprint-live keys --show -o FILE` prints its id.");
  }
  if (!window.crypto || !crypto.subtle) {
    throw new Error("This page cannot check keys here (it needs http://127.0.0.1 or HTTPS).");
  }
  let x;
  try {
    const der = bytesOf(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""));
    const key = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
    ({ x } = await crypto.subtle.exportKey("jwk", key));
  } catch (err) {
    throw new Error(`The key file is not an Ed25519 private key (${err.message}).`);
  }
  const raw = bytesOf(x.replace(/-/g, "+").replace(/_/g, "/"));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
  return Array.from(digest.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

// Says whether the key loaded with a saved enrollment pairs with it (the server answered the
// enrollment's key id; the key's own id was computed here).
function showKeyCheck(mine, enrollments) {
  $("key-check").textContent = !enrollments
    ? `This enrollment carries no public key, so no key pairs with it (key ${mine} is not used).`
    : mine === enrollments
      ? `Your key (id ${mine}) pairs with this enrollment.`
      : `This key (id ${mine}) does not pair with this enrollment (it carries key id ${enrollments}).`;
  $("key-check").hidden = false;
}

async function offerFields() {
  const fields = {};
  if (!config.policy_fixed) fields.policy = $("policy").value;
  if (document.querySelector("input[name=avatar]:checked").value === "upload") {
    const file = $("avatar-file").files[0];
    if (!file) throw new Error("Choose an image, or pick the default portrait.");
    if (file.size > MAX_UPLOAD) throw new Error("The image is larger than 5 MiB.");
    fields.avatar = await base64Of(file);
  }
  if (config.enrollment === "page") {
    if (document.querySelector("input[name=enroll]:checked").value === "load") {
      const file = $("enrollment-file").files[0];
      if (!file) throw new Error("Choose your saved enrollment (.fpe), or record one.");
      fields.enrollment = await base64Of(file);
      const key = $("key-file").files[0];
      if (key) fields.keyId = await keyIdOf(key); // stays in the page: not an offer field
    } else {
      fields.seconds = Number($("seconds").value);
    }
  }
  return fields;
}

function clearCallView() {
  plot.clear();
  $("progress").value = 0;
  $("events").textContent = "";
  $("after-call").textContent = "";
  $("growth").hidden = true;
  $("key-check").hidden = true;
  $("enrolled").hidden = true;
  $("key").hidden = true;
  if ($("save-key").href) URL.revokeObjectURL($("save-key").href); // the secret leaves the page
  $("save-key").removeAttribute("href");
  $("status").textContent = "State: –";
  $("status").className = "";
}

async function start() {
  showError("");
  const fields = await offerFields();
  $("start").disabled = true;
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (err) {
    showError(`Camera permission is needed: ${err.message}`);
    $("start").disabled = false;
    return;
  }
  clearCallView();
  $("local").srcObject = stream;
  const pc = new RTCPeerConnection({ iceServers: [] });
  const current = { pc, stream, session: null, started: performance.now(), timer: null };
  call = current;
  try {
    await connect(current, fields);
  } catch (err) {
    endLocally(current);
    throw err;
  }
}

async function connect(current, fields) {
  const { pc, stream } = current;
  const { keyId, ...offered } = fields;
  const channel = pc.createDataChannel("events");
  channel.onmessage = (event) => { if (call === current) onMessage(JSON.parse(event.data), current); };
  stream.getVideoTracks().forEach((track) => pc.addTrack(track, stream));
  pc.ontrack = (event) => {
    const video = $("remote");
    video.srcObject = new MediaStream([event.track]);
    video.play().catch(() => {});
    countFrames(video, current);
  };
  pc.onconnectionstatechange = () => {
    if (call === current && ["failed", "closed"].includes(pc.connectionState)) {
      endLocally(current);
      $("phase").textContent = "The call was lost.";
    }
  };
  await pc.setLocalDescription(await pc.createOffer());
  await waitForIce(pc);
  const response = await fetch("offer", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type, ...offered }),
  });
  const answer = await response.json();
  if (!response.ok) {
    endLocally(current);
    showError(answer.error);
    return;
  }
  current.session = answer.session;
  if (keyId) showKeyCheck(keyId, answer.key_id);
  $("recording").hidden = !fields.seconds;
  $("phase").textContent = fields.seconds ? "Recording your enrollment: 0 %" :
    config.enrollment === "fixed" ? "Verifying against the owner's enrollment." :
      "Verifying against your saved enrollment.";
  $("hangup").hidden = false;
  await pc.setRemoteDescription({ sdp: answer.sdp, type: answer.type });
}

// The call's media and page state end here, however it ended.
function endLocally(current) {
  current.stream.getTracks().forEach((track) => track.stop());
  current.pc.close();
  clearInterval(current.timer);
  if (call !== current) return;
  call = null;
  pageFps = 0;
  $("status").textContent = "State: – (no call)";
  $("status").className = "";
  $("local").srcObject = null;
  $("remote").srcObject = null;
  $("hangup").hidden = true;
  $("hangup").disabled = false;
  $("start").disabled = false;
}

async function hangUp() {
  const current = call;
  if (!current) return;
  $("hangup").disabled = true;
  let summary = null;
  try {
    const response = await fetch(`session/${current.session}/end`, { method: "POST" });
    const body = await response.json();
    if (response.ok) summary = body; else showError(body.error);
  } finally {
    endLocally(current);
  }
  for (const step of afterCall) await step(summary);
}

function showSummary(summary) {
  if (!summary) {
    $("phase").textContent = "Call ended.";
    return;
  }
  const last = summary.state ? `${summary.state} for its last ${summary.state_seconds} s` : "no verdict";
  $("phase").textContent = `Call ended after ${summary.seconds} s: ${last}.`;
}

// With serve --allow-growth: the call that just ended may be added to the owner's enrollment;
// the server judges it (clear margin, long enough, once) and the page shows its answer.
function offerGrowth(summary) {
  if (!config.growth || !summary) return;
  $("grow").dataset.session = summary.session;
  $("grow").disabled = false;
  $("grow-result").textContent = "";
  $("growth").hidden = false;
}

async function growEnrollment() {
  $("grow").disabled = true;
  const response = await fetch(`session/${$("grow").dataset.session}/grow`, { method: "POST" });
  const body = await response.json();
  $("grow-result").textContent = response.ok
    ? `Added to your enrollment: ${body.seconds} s of this call (${body.windows} motion windows; ` +
      `${body.segments} parts now, \`enroll --reset\` undoes it).`
    : body.error.charAt(0).toUpperCase() + body.error.slice(1);
}

async function configure() {
  config = await (await fetch("config")).json();
  $("seconds").value = config.seconds;
  [$("seconds").min, $("seconds").max] = config.seconds_range;
  const fixed = config.enrollment === "fixed";
  $("owner").hidden = !fixed;
  $("page-enrollment").hidden = fixed;
  $("recording").hidden = fixed;
  $("policy").value = config.policy;
  $("policy-choice").hidden = config.policy_fixed;
  $("policy-owner").hidden = !config.policy_fixed;
  $("owner-policy").textContent = POLICY_TEXT[config.policy];
}

$("start").addEventListener("click", () => { start().catch((err) => showError(err.message)); });
$("hangup").addEventListener("click", () => { hangUp().catch((err) => showError(err.message)); });
$("grow").addEventListener("click", () => {
  growEnrollment().catch((err) => { $("grow").disabled = false; showError(err.message); });
});
configure().catch((err) => showError(`The server did not answer: ${err.message}`));
