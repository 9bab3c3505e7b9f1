// The page: camera -> server (WebRTC) -> guarded avatar back, with status on a data channel.
// Signalling is aiortc's: POST /offer with JSON {sdp, type} plus optional fields.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_UPLOAD = 5 * 1024 * 1024;
let shownFrames = 0;
let pageFps = 0;

function showError(text) { $("error").textContent = text || ""; }

function waitForIce(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
  });
}

function countFrames(video) {
  const tick = () => { shownFrames += 1; video.requestVideoFrameCallback(tick); };
  video.requestVideoFrameCallback(tick);
  let last = 0;
  setInterval(() => { pageFps = shownFrames - last; last = shownFrames; }, 1000);
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

function onMessage(event) {
  const msg = JSON.parse(event.data);
  if (msg.type === "status") {
    $("progress").value = msg.progress;
    if (msg.phase === "enrolling") {
      $("phase").textContent = `Recording: ${Math.round(msg.progress * 100)} % - talk naturally, face to the camera.`;
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
  } else if (msg.type === "enrolled") {
    $("progress").value = 1;
    $("phase").textContent = `Enrolled (${msg.seconds} s, ${msg.windows} motion windows, ${msg.faces} face descriptors): verifying now.`;
    $("save").href = `enrollment/${msg.session}`;
    $("save").hidden = false;
  } else if (msg.type === "event") {
    $("events").textContent += `${msg.time.toFixed(2)} s  ${msg.state}  ${msg.action}  ${msg.reason}` +
      `${msg.signal ? "  [" + msg.signal + "]" : ""}${msg.warning ? "  ⚠ " + msg.warning : ""}\n`;
  }
}

async function offerFields() {
  const fields = { policy: $("policy").value };
  if (document.querySelector("input[name=avatar]:checked").value === "upload") {
    const file = $("avatar-file").files[0];
    if (!file) throw new Error("Choose an image, or pick the default portrait.");
    if (file.size > MAX_UPLOAD) throw new Error("The image is larger than 5 MiB.");
    fields.avatar = await base64Of(file);
  }
  if (!$("page-enrollment").hidden) {
    if (document.querySelector("input[name=enroll]:checked").value === "load") {
      const file = $("enrollment-file").files[0];
      if (!file) throw new Error("Choose your saved enrollment (.fpe), or record one.");
      fields.enrollment = await base64Of(file);
    } else {
      fields.seconds = Number($("seconds").value);
    }
  }
  return fields;
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
  $("local").srcObject = stream;
  const pc = new RTCPeerConnection({ iceServers: [] });
  const channel = pc.createDataChannel("events");
  channel.onmessage = onMessage;
  stream.getVideoTracks().forEach((track) => pc.addTrack(track, stream));
  pc.ontrack = (event) => {
    const video = $("remote");
    video.srcObject = new MediaStream([event.track]);
    video.play().catch(() => {});
    countFrames(video);
  };
  await pc.setLocalDescription(await pc.createOffer());
  await waitForIce(pc);
  const response = await fetch("offer", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type, ...fields }),
  });
  const answer = await response.json();
  if (!response.ok) {
    showError(answer.error);
    stream.getTracks().forEach((t) => t.stop());
    pc.close();
    $("start").disabled = false;
    return;
  }
  $("phase").textContent = fields.seconds ? "Recording: 0 %" : "Verifying against the enrollment.";
  await pc.setRemoteDescription({ sdp: answer.sdp, type: answer.type });
}

async function configure() {
  const config = await (await fetch("config")).json();
  $("seconds").value = config.seconds;
  [$("seconds").min, $("seconds").max] = config.seconds_range;
  const fixed = config.enrollment === "fixed";
  $("owner").hidden = !fixed;
  $("page-enrollment").hidden = fixed;
}

$("start").addEventListener("click", () => { start().catch((err) => showError(err.message)); });
configure().catch((err) => showError(`The server did not answer: ${err.message}`));
