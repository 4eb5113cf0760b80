#!/usr/bin/env bash
# zonecast against the tools an engineer would otherwise use, measured in the same run
# (issue 8). `make bench-peers` runs this: it installs the peers when missing, builds the
# benchmarks, runs them, and rewrites their sections of BENCHMARKS.md between the markers
# `<!-- peers:NAME:start -->` and `<!-- peers:NAME:end -->` (appended when absent).
#
# Environment (defaults give the full run, about 8 minutes on 2 cores):
#   PEERS_N="1,10,100,1000"   destination counts of the fan-out
#   PEERS_SECONDS=10          seconds per fan-out run
#   PEERS_RUNS=3              runs per tool and N (medians; tools alternate)
#   PEERS_OUT=BENCHMARKS.md   the file rewritten
set -euo pipefail
cd "$(dirname "$0")/../.."

n=${PEERS_N:-1,10,100,1000}
seconds=${PEERS_SECONDS:-10}
runs=${PEERS_RUNS:-3}
out=${PEERS_OUT:-BENCHMARKS.md}

# The peers, from Debian's packages, when missing.
need=""
command -v ffmpeg >/dev/null || need="$need ffmpeg"
command -v gst-launch-1.0 >/dev/null || need="$need gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good"
command -v tshark >/dev/null || need="$need tshark"
command -v sox >/dev/null || need="$need sox"
if [ -n "$need" ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "installing:$need"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need \
    || { $sudo apt-get update -q && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need; }
fi

cargo build --release --example fanout

# Replace (or append) section NAME of $out with the contents of file $2.
splice() {
  local name=$1 body=$2 start="<!-- peers:$1:start -->" end="<!-- peers:$1:end -->"
  if grep -qF "$start" "$out"; then
    awk -v s="$start" -v e="$end" -v f="$body" '
      $0 == s { print; while ((getline line < f) > 0) print line; skip = 1; next }
      $0 == e { skip = 0 }
      !skip { print }' "$out" > "$out.tmp" && mv "$out.tmp" "$out"
  else
    { printf '\n%s\n' "$start"; cat "$body"; printf '%s\n' "$end"; } >> "$out"
  fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
load=$(cut -d' ' -f1-3 /proc/loadavg)
cmd="cargo run --release --example fanout -- --destinations $n --seconds $seconds --runs $runs --tools zonecast,gstreamer,gst-each,ffmpeg-each"
echo "fan-out: $cmd"
{
  echo "## Peers: fan-out against GStreamer and ffmpeg (\`make bench-peers\`)"
  echo
  echo "Written by \`benches/peers/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
  echo "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load at start $load."
  echo "Command: \`$cmd\`. Peers: GStreamer $(gst-launch-1.0 --version | head -1 | awk '{print $NF}')"
  echo "(\`multiudpsink\`, one pipeline for all N; and \`udpsink\`, one process per stream, N ≤ 100),"
  echo "ffmpeg $(ffmpeg -version | head -1 | awk '{print $3}') (one process per stream with"
  echo "\`-af asetnsamples=n=160:p=0,arealtime -acodec pcm_mulaw -packetsize 172 -f rtp\`, N ≤ 100)."
  echo "Per-stream peers' CPU and RSS are summed over their processes. The load average at each run's"
  echo "start is in the table: runs after the 100-process peers start on a loaded machine (the"
  echo "harness does not wait for it to settle, to finish unattended in under 15 minutes)."
  echo
  ./target/release/examples/fanout --destinations "$n" --seconds "$seconds" --runs "$runs" \
    --tools zonecast,gstreamer,gst-each,ffmpeg-each --json-out "$tmp/fanout.json"
} > "$tmp/fanout.md"
splice fanout "$tmp/fanout.md"
echo "rewrote the fan-out section of $out"
