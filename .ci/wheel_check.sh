#!/usr/bin/env bash
# The package as a user installs it: a wheel into a fresh venv outside the repository, then
# enroll, verify, animate and serve from another folder (models, YAML and page files must come
# with the wheel). Its own landmark cache, so the installed code really extracts landmarks.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
data="$(cd "$repo/../shared/data" && pwd)"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

python3 -m pip wheel -q --no-deps -w "$work/dist" "$repo"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$(ls "$work"/dist/fingerprint_live-*.whl)[cpu,live]"
export FINGERPRINT_LIVE_CACHE="$work/cache"
cd "$work"
fl="$work/venv/bin/fingerprint-live"
mead="$data/dreamtalk/data/style_clip/video"

"$fl" enroll "$mead"/M030_front_{angry,contempt,disgusted,fear}_level3_001.mp4 -o me.fpe \
    --min-seconds 8
"$fl" verify --enrollment me.fpe "$mead/M030_front_happy_level3_001.mp4" --json > verdict.json
"$work/venv/bin/python" -c "import json; v = json.load(open('verdict.json')); \
assert v['verdict'] == 'VERIFIED', v; print('wheel: verify', v['verdict'])"
"$fl" animate --driver "$mead/M030_front_happy_level3_001.mp4" -o avatar.mp4 --quiet
test -s avatar.mp4

"$fl" serve --port 18765 2> serve.log &
server=$!
"$work/venv/bin/python" - <<'PY'
import json, time, urllib.request
for _ in range(120):
    try:
        config = json.loads(urllib.request.urlopen("http://127.0.0.1:18765/config").read())
        break
    except OSError:
        time.sleep(0.5)
else:
    raise SystemExit("serve did not answer")
page = urllib.request.urlopen("http://127.0.0.1:18765/").read().decode()
script = urllib.request.urlopen("http://127.0.0.1:18765/app.js").read().decode()
plot = urllib.request.urlopen("http://127.0.0.1:18765/plot.js").read().decode()
assert "fingerprint-live" in page and "offer" in script and config["enrollment"] == "page"
assert "EvidencePlot" in plot and config["policy"] == "block"
print("wheel: serve answers from outside the repository")
PY
echo "wheel: enroll, verify, animate and serve work from $work"
