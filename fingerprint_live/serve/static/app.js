// The page: camera -> server (WebRTC) -> guarded avatar back, with status on a data channel.
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

function onMessage(event) {
  const msg = JSON.parse(event.data);
  if (msg.type === "status") {
    $("progress").value = msg.progress;
    if (msg.phase === "enrolling") {
      $("phase").textContent = `Recording: ${Math.round(msg.progress * 100)} % - talk naturally, face to the camera.`;
    }
    const score = msg.score === null ? "–" : msg.score.toFixed(2);
    const latency = msg.latency_ms === null || msg.latency_ms === undefined ? "–" : `${msg.latency_ms} ms`;
    $("status").textContent =
      `State: ${msg.state || "–"} · action: ${msg.action || "–"}${msg.reason ? " (" + msg.reason + ")" : ""}` +
      ` · score: ${score} · fps: ${pageFps} (server ${msg.fps ?? "–"}) · processing latency: ${latency}` +
      (msg.warning ? ` · ⚠ ${msg.warning}` : "");
    $("status").className = `${msg.state || ""} ${msg.action || ""}`;
    showError(msg.error);
  } else if (msg.type === "enrolled") {
    $("progress").value = 1;
    $("phase").textContent = `Enrolled and stored for this session (${msg.seconds} s, ${msg.windows} windows): verifying now.`;
  } else if (msg.type === "event") {
    $("events").textContent += `${msg.time.toFixed(2)} s  ${msg.state}  ${msg.action}  ${msg.reason}` +
      `${msg.warning ? "  ⚠ " + msg.warning : ""}\n`;
  }
}

async function start() {
  showError("");
  const form = new FormData();
  if (document.querySelector("input[name=avatar]:checked").value === "upload") {
    const file = $("avatar-file").files[0];
    if (!file) { showError("Choose an image, or pick the default portrait."); return; }
    if (file.size > MAX_UPLOAD) { showError("The image is larger than 5 MiB."); return; }
    form.append("avatar", file);
  }
  form.append("seconds", $("seconds").value);
  form.append("policy", $("policy").value);
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
  form.append("sdp", pc.localDescription.sdp);
  form.append("type", pc.localDescription.type);
  const response = await fetch("offer", { method: "POST", body: form });
  const answer = await response.json();
  if (!response.ok) {
    showError(answer.error);
    stream.getTracks().forEach((t) => t.stop());
    pc.close();
    $("start").disabled = false;
    return;
  }
  $("phase").textContent = "Recording: 0 %";
  await pc.setRemoteDescription({ sdp: answer.sdp, type: answer.type });
}

$("start").addEventListener("click", () => { start().catch((err) => showError(err.message)); });
