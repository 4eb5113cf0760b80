#!/usr/bin/env bash
# zonecast against the tools an engineer would otherwise use, measured in the same run
# (issue 8). `make bench-peers` runs this: it installs the peers when missing, builds the
# benchmarks, runs them, and rewrites their sections of BENCHMARKS.md between the markers
# `<!-- peers:NAME:start -->` and `<!-- peers:NAME:end -->` (appended when absent).
#
# Sections (PEERS_SECTIONS, default all, in this order):
#   fanout    one stream to N unicast destinations: zonecast, GStreamer multiudpsink (all N),
#             GStreamer udpsink and ffmpeg one process per stream (N ≤ 100)
#   capture   the same senders seen by tshark on the loopback (RFC 3550 jitter as Wireshark
#             computes it, first and last second trimmed), beside the benchmark's own figure
#   reach     page start → every emulated phone accepted and receiving, 1,000 and 10,000 phones,
#             0 and 200 ms think time
#   recorder  the recorder receiving N inbound streams, against a GStreamer pipeline
#   ringtone  a batch of 100 sounds to ring files, against sox
#
# Environment (defaults give the full run, under 15 minutes on 2 cores):
#   PEERS_N="1,10,100,1000"   destination counts of the fan-out
#   PEERS_SECONDS=6           seconds per fan-out run
#   PEERS_RUNS=3              runs per tool and N (medians; tools alternate)
#   PEERS_MAX_LOAD=1.0        a run waits (up to PEERS_LOAD_WAIT s) for the 1-minute load
#   PEERS_LOAD_WAIT=60        average to fall to this; runs still above it are discarded
#   PEERS_OUT=BENCHMARKS.md   the file rewritten
set -euo pipefail
cd "$(dirname "$0")/../.."

sections=${PEERS_SECTIONS:-fanout capture reach recorder ringtone}
n=${PEERS_N:-1,10,100,1000}
seconds=${PEERS_SECONDS:-6}
runs=${PEERS_RUNS:-3}
max_load=${PEERS_MAX_LOAD:-1.0}
load_wait=${PEERS_LOAD_WAIT:-60}
out=${PEERS_OUT:-BENCHMARKS.md}
t_start=$(date +%s)

# The peers, from Debian's packages, when missing.
need=""
command -v ffmpeg >/dev/null || need="$need ffmpeg"
command -v gst-launch-1.0 >/dev/null || need="$need gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good"
command -v tshark >/dev/null || need="$need tshark"
command -v editcap >/dev/null || need="$need wireshark-common"
command -v sox >/dev/null || need="$need sox"
if [ -n "$need" ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "installing:$need"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need \
    || { $sudo apt-get update -q && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need; }
fi

cargo build --release --bin zonecast --example fanout --example page_reach \
  --example recorder_load --example ringtone_batch

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

# A free even UDP port of the RTP range.
free_port() {
  python3 - <<'PY'
import socket, random
for _ in range(200):
    p = random.randrange(20480, 32768, 2)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("0.0.0.0", p)); s.close(); print(p); break
    except OSError:
        s.close()
PY
}

machine() {
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)),"
  echo "$(free -g | awk '/Mem:/ {print $2}') GB RAM, Linux $(uname -r); $(rustc --version | cut -d' ' -f1-2);"
  echo "written by \`benches/peers/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), load at start $(cut -d' ' -f1-3 /proc/loadavg)."
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
has() { case " $sections " in *" $1 "*) return 0;; *) return 1;; esac; }
elapsed() { echo "$(( $(date +%s) - t_start )) s"; }

if has fanout; then
  cmd="target/release/examples/fanout --destinations $n --seconds $seconds --runs $runs --tools zonecast,gstreamer,gst-each,ffmpeg-each --max-load $max_load --load-wait $load_wait"
  echo "== fan-out: $cmd"
  {
    echo "## Peers: fan-out against GStreamer and ffmpeg (\`make bench-peers\`)"
    echo
    machine
    echo "Command: \`$cmd\`. Peers: GStreamer $(gst-launch-1.0 --version | head -1 | awk '{print $NF}')"
    echo "(\`multiudpsink\`, one pipeline for all N; and \`udpsink\`, one process per stream, N ≤ 100),"
    echo "ffmpeg $(ffmpeg -version | head -1 | awk '{print $3}') (one process per stream with"
    echo "\`-af asetnsamples=n=160:p=0,arealtime -acodec pcm_mulaw -packetsize 172 -f rtp\`, N ≤ 100)."
    echo "Per-stream peers' CPU and RSS are summed over their processes."
    echo
    ./$cmd --json-out "$tmp/fanout.json"
  } > "$tmp/fanout.md"
  splice fanout "$tmp/fanout.md"
  echo "rewrote the fan-out section of $out ($(elapsed))"
fi

if has capture; then
  cn=100; cs=6
  echo "== capture: N=$cn, tshark on lo"
  {
    echo "## Peers: the fan-out seen by tshark (\`make bench-peers\`)"
    echo
    machine
    echo "One run per sender, N = $cn destinations, $cs s, captured on \`lo\` by"
    echo "\`tshark -i lo -f 'udp dst port P'\` ($(tshark --version | head -1)); the capture is trimmed to"
    echo "1 s .. $((cs - 1)) s after its first packet and read with \`tshark -d udp.port==P,rtp -z rtp,streams\`."
    echo "Jitter is RFC 3550's as Wireshark computes it from the capture timestamps; \"benchmark\" is"
    echo "the fan-out receiver's own figure for the same run (kernel receive timestamps). Times in ms."
    echo
    echo "| sender | streams seen | packets | lost | mean jitter (mean over streams) | max jitter (worst stream) | max delta (worst stream) | benchmark's RFC 3550 jitter |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for tool in zonecast gstreamer; do
      port=$(free_port)
      pcap="$tmp/$tool.pcap"
      tshark -q -i lo -f "udp dst port $port" -w "$pcap" 2>"$tmp/tshark.err" &
      tpid=$!
      # tshark prints nothing when ready; give it time to open the interface.
      for _ in $(seq 50); do grep -q "Capturing on" "$tmp/tshark.err" && break; sleep 0.1; done
      ./target/release/examples/fanout --destinations $cn --seconds $cs --runs 1 --tools $tool \
        --port "$port" --probe-seconds 0 --json-out "$tmp/cap-$tool.json" >/dev/null 2>"$tmp/fanout.err" \
        || { cat "$tmp/fanout.err" >&2; exit 1; }
      sleep 1; kill -INT $tpid; wait $tpid || true
      first=$(tshark -r "$pcap" -c 1 -T fields -e frame.time_epoch 2>/dev/null)
      tshark -r "$pcap" -Y "frame.time_epoch >= $first + 1 && frame.time_epoch <= $first + $cs - 1" \
        -w "$tmp/$tool-trim.pcap" 2>/dev/null
      bench_jitter=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print('%.3f' % d['summary'][0]['jitter_mean_ms'])" "$tmp/cap-$tool.json")
      tshark -r "$tmp/$tool-trim.pcap" -d "udp.port==$port,rtp" -q -z rtp,streams 2>/dev/null \
        | python3 -c '
import sys, re
rows = []
for line in sys.stdin:
    if re.match(r"\s+\d+\.\d+\s+\d+\.\d+\s+\d", line):
        f = line.split()
        # start end src sport dst dport ssrc payload pkts lost (pct) minΔ meanΔ maxΔ minJ meanJ maxJ
        rows.append((int(f[8]), int(f[9]), float(f[13]), float(f[15]), float(f[16])))
if not rows:
    print("| %s | 0 | – | – | – | – | – | %s |" % (sys.argv[1], sys.argv[2])); sys.exit()
n = len(rows)
print("| %s | %d | %d | %d | %.3f | %.3f | %.3f | %s |" % (sys.argv[1], n, sum(r[0] for r in rows),
      sum(r[1] for r in rows), sum(r[3] for r in rows) / n, max(r[4] for r in rows),
      max(r[2] for r in rows), sys.argv[2]))
' "$( [ $tool = zonecast ] && echo zonecast || echo 'GStreamer multiudpsink')" "$bench_jitter"
    done
  } > "$tmp/capture.md"
  splice capture "$tmp/capture.md"
  echo "rewrote the capture section of $out ($(elapsed))"
fi

if has reach; then
  echo "== reach"
  {
    echo "## Peers: page reach, 1,000 and 10,000 emulated phones (\`make bench-peers\`)"
    echo
    machine
    echo "The fleet runs as 2 child processes of \`zonecast sim\` (one loopback address per phone,"
    echo "receiving in the light mode: each phone keeps the first packet's time and the count of"
    echo "what arrives, without decoding), the pager in the example's process; multicast pages; times"
    echo "from the phones' own timestamps (\`--fleet-poll-ms 0\`). No peer tool pages Cisco phones, so"
    echo "the figures are against the targets (1,000 within 0.5 s, 10,000 within 3 s, at 200 ms)."
    echo
    for lat in 0 200; do
      cmd="target/release/examples/page_reach --phones 1000,10000 --latency-ms $lat --concurrency 2000 --fleet-processes 2 --fleet-poll-ms 0 --hold-s 2 --runs 2 --light-receive"
      echo "Think time $lat ms: \`$cmd\`"
      echo
      ./$cmd 2>"$tmp/reach.err" || { cat "$tmp/reach.err" >&2; exit 1; }
      echo
    done
  } > "$tmp/reach.md"
  splice reach "$tmp/reach.md"
  echo "rewrote the reach section of $out ($(elapsed))"
fi

if has recorder; then
  cmd="target/release/examples/recorder_load --streams 10,100,1000 --seconds $seconds --runs 2 --gst-max-streams 100"
  echo "== recorder: $cmd"
  {
    echo "## Peers: the recorder, N inbound streams (\`make bench-peers\`)"
    echo
    machine
    echo "Command: \`$cmd\`. GStreamer (one \`gst-launch-1.0 -e\` of N \`udpsrc ! rtppcmudepay !"
    echo "mulawdec ! wavenc ! filesink\` branches) is measured up to N = 100 here: finishing the files"
    echo "of a 1,000-branch pipeline after SIGINT takes it 15–60 s on 2 cores, too long for this harness"
    echo "(\`--gst-max-streams 1000\` measures it)."
    echo
    ./$cmd --json-out "$tmp/recorder.json" 2>"$tmp/recorder.err" || { cat "$tmp/recorder.err" >&2; exit 1; }
  } > "$tmp/recorder.md"
  splice recorder "$tmp/recorder.md"
  echo "rewrote the recorder section of $out ($(elapsed))"
fi

if has ringtone; then
  cmd="target/release/examples/ringtone_batch --files 100 --runs 3"
  echo "== ringtone: $cmd"
  {
    echo "## Peers: ringtone batch against sox (\`make bench-peers\`)"
    echo
    machine
    echo "Command: \`$cmd\` (zonecast \`ringtone batch\` against SoX $(sox --version | awk '{print $NF}'),"
    echo "\`sox IN -r 8000 -c 1 -e u-law -t raw OUT\` one process per file; wall clock, medians)."
    echo
    ./$cmd
  } > "$tmp/ringtone.md"
  splice ringtone "$tmp/ringtone.md"
  echo "rewrote the ringtone section of $out ($(elapsed))"
fi

echo "bench-peers: done in $(elapsed)"
