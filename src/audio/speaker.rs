//! The live speaker: [`Speaker::open`] starts playback on an output device and returns a handle
//! whose [`Speaker::push`] takes 8 kHz mono samples (what a phone sends us) and never waits.
//!
//! Between the receiver thread and cpal's audio thread sits a [`PlaybackQueue`]: a bounded ring
//! of 8 kHz samples, locked for one copy per push and once per device callback. It is a small
//! jitter buffer, not a one-frame mailbox like the microphone's [`super::FrameQueue`]: the device
//! asks for blocks of any size at its own pace, so a few frames must be able to wait. Its policy:
//! play starts once [`PRIME_SAMPLES`] (or one device callback's worth, if more) are queued; when
//! it runs dry mid-play the device gets silence (an *underrun*) and play waits to be primed
//! again; when the receiver runs ahead by more than [`QUEUE_SAMPLES`] the oldest samples are
//! dropped, so latency never grows past that.
//!
//! Conversion to the device's rate happens in the callback, pulling from the queue, with a
//! [`Upsampler`] doing linear interpolation. rubato (which [`super::StreamResampler`] uses) does
//! not fit here: its streaming resamplers work in fixed blocks, which would put a block of
//! latency and a second buffer between the queue and a callback of arbitrary size, and the
//! crate's [`super::StreamResampler`] only converts *to* 8 kHz. Upsampling G.711 audio creates
//! no aliasing of its own content; linear interpolation only leaves faint images above 4 kHz,
//! which is acceptable for telephone-band speech. Devices that accept 8 kHz get it directly.
//!
//! Like the microphone, the cpal `Stream` lives on a small thread owned by the [`Speaker`];
//! dropping the speaker stops playback.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample, StreamConfig};

use super::error::AudioError;
use super::frame::SAMPLE_RATE;
use super::mic::{OpenError, device_aliases, device_name, open_on_thread};

/// How long opening a device may take before we give up on it (a wedged sound server).
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);
/// Most samples (8 kHz) the queue holds: 250 ms, the most latency the speaker adds.
pub const QUEUE_SAMPLES: usize = 2000;
/// Samples (8 kHz) queued before play starts or resumes after an underrun: 60 ms, three
/// packets of jitter.
pub const PRIME_SAMPLES: usize = 480;

/// Counters of a [`PlaybackQueue`] (and of a [`Speaker`]), in 8 kHz samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SpeakerStats {
    /// Samples pushed by the receiver.
    pub received: u64,
    /// Samples the device consumed (the rest were dropped or are waiting).
    pub played: u64,
    /// Samples dropped, oldest first, because the queue was full.
    pub dropped: u64,
    /// Times the queue ran dry during play and the device got silence.
    pub underruns: u64,
    /// Errors the device reported (xruns, disconnection ...).
    pub stream_errors: u64,
}

/// Bounded ring of 8 kHz samples between a producer that must not wait and a device callback
/// that must not wait. See the module docs for the policy. Allocates only in [`Self::new`].
#[derive(Debug, Clone)]
pub struct PlaybackQueue {
    buf: Box<[i16]>,
    head: usize,
    len: usize,
    prime: usize,
    playing: bool,
    stats: SpeakerStats,
}

impl PlaybackQueue {
    /// A queue of at most `capacity` samples (at least 1) that starts playing once `prime`
    /// are waiting (clamped to the capacity).
    pub fn new(capacity: usize, prime: usize) -> PlaybackQueue {
        let capacity = capacity.max(1);
        PlaybackQueue {
            buf: vec![0; capacity].into_boxed_slice(),
            head: 0,
            len: 0,
            prime: prime.clamp(1, capacity),
            playing: false,
            stats: SpeakerStats::default(),
        }
    }

    /// Append samples; when full, the oldest are dropped to make room.
    pub fn push(&mut self, samples: &[i16]) {
        let cap = self.buf.len();
        self.stats.received += samples.len() as u64;
        // Only the newest `cap` samples can survive.
        let skip = samples.len().saturating_sub(cap);
        self.stats.dropped += skip as u64;
        let samples = &samples[skip..];
        let overflow = (self.len + samples.len()).saturating_sub(cap);
        if overflow > 0 {
            self.head = (self.head + overflow) % cap;
            self.len -= overflow;
            self.stats.dropped += overflow as u64;
        }
        for &s in samples {
            self.buf[(self.head + self.len) % cap] = s;
            self.len += 1;
        }
        if !self.playing && self.len >= self.prime {
            self.playing = true;
        }
    }

    /// The next sample to play, or `None` (play silence) while priming or after running dry.
    pub fn pop(&mut self) -> Option<i16> {
        if !self.playing {
            return None;
        }
        if self.len == 0 {
            self.playing = false;
            self.stats.underruns += 1;
            return None;
        }
        let s = self.buf[self.head];
        self.head = (self.head + 1) % self.buf.len();
        self.len -= 1;
        self.stats.played += 1;
        Some(s)
    }

    /// The device asks for `samples` (8 kHz) per callback: prime with at least that many, so a
    /// device with long periods does not underrun on every callback. Never above the capacity.
    pub fn note_demand(&mut self, samples: usize) {
        self.prime = self.prime.max(samples.min(self.buf.len()));
    }

    /// Play what is queued even if it is less than the prime (the end of a stream).
    pub fn flush(&mut self) {
        if self.len > 0 {
            self.playing = true;
        }
    }

    /// Samples waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no sample is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether samples are being handed out (primed, not run dry since).
    pub fn is_playing(&self) -> bool {
        self.playing
    }

    /// The counters so far (`stream_errors` is always 0 here: the device counts those).
    pub fn stats(&self) -> SpeakerStats {
        self.stats
    }
}

/// Streaming linear-interpolation rate converter from 8 kHz to a device rate, pulling input as
/// it goes: suits a callback of any size, adds one input sample of delay, allocates nothing.
/// At equal rates it passes samples through unchanged.
#[derive(Debug, Clone)]
pub struct Upsampler {
    /// Input samples per output sample.
    step: f64,
    /// Position of the next output between `prev` (0.0) and `next` (1.0).
    pos: f64,
    prev: f32,
    next: f32,
}

impl Upsampler {
    /// A converter from 8 kHz to `to_hz`. A rate of 0 is refused.
    pub fn new(to_hz: u32) -> Result<Upsampler, AudioError> {
        if to_hz == 0 {
            return Err(crate::error::Invalid::new(
                "output sample rate",
                to_hz,
                "must be above 0 Hz",
            )
            .into());
        }
        Ok(Upsampler {
            step: f64::from(SAMPLE_RATE) / f64::from(to_hz),
            pos: 0.0,
            prev: 0.0,
            next: 0.0,
        })
    }

    /// Input samples needed, at most, for `outputs` output samples.
    pub fn input_for(&self, outputs: usize) -> usize {
        (outputs as f64 * self.step).ceil() as usize + 1
    }

    /// The next output sample; `pull` gives the next input sample whenever one is needed.
    #[inline]
    pub fn next_sample(&mut self, pull: &mut impl FnMut() -> f32) -> f32 {
        if self.step == 1.0 {
            return pull();
        }
        let y = self.prev + (self.next - self.prev) * self.pos as f32;
        self.pos += self.step;
        while self.pos >= 1.0 {
            self.pos -= 1.0;
            self.prev = self.next;
            self.next = pull();
        }
        y
    }
}

/// Names of the output devices of the default host, for `--speaker NAME` and error messages.
/// Empty when the machine has none (or the audio system cannot be reached).
pub fn list_output_devices() -> Vec<String> {
    list_on(&cpal::default_host())
}

fn list_on(host: &cpal::Host) -> Vec<String> {
    match host.output_devices() {
        Ok(devices) => devices.map(|d| device_name(&d)).collect(),
        Err(e) => {
            tracing::debug!("listing output devices: {e}");
            Vec::new()
        }
    }
}

/// The tail of every message about a speaker that could not be used.
fn available(devices: &[String]) -> String {
    if devices.is_empty() {
        return "this machine has no audio output devices".into();
    }
    let quoted: Vec<String> = devices.iter().map(|d| format!("{d:?}")).collect();
    format!("available output devices: {}", quoted.join(", "))
}

/// Same rules as the microphone's lookup: an exact alias first, then one ignoring ASCII case.
fn find_device(host: &cpal::Host, wanted: &str) -> Option<cpal::Device> {
    let devices: Vec<cpal::Device> = host.output_devices().ok()?.collect();
    let matches = |eq: &dyn Fn(&str) -> bool| {
        devices
            .iter()
            .position(|d| device_aliases(d).iter().any(|n| eq(n)))
    };
    let index =
        matches(&|n| n == wanted).or_else(|| matches(&|n| n.eq_ignore_ascii_case(wanted)))?;
    devices.into_iter().nth(index)
}

/// What a [`Speaker`] plays on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpeakerInfo {
    /// Device name.
    pub device: String,
    /// The rate the device runs at (8 kHz audio is converted to it).
    pub sample_rate: u32,
    /// The device's channels (each gets the same mono signal).
    pub channels: u16,
    /// The device's sample format.
    pub sample_format: String,
}

/// State shared by the device callback, the stream thread and the [`Speaker`].
struct Shared {
    queue: Mutex<PlaybackQueue>,
    errors: AtomicU64,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, PlaybackQueue> {
        // A panic while holding the lock leaves a ring of plain integers: still usable.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A live output device taking 8 kHz mono audio. Dropping it stops playback.
pub struct Speaker {
    shared: Arc<Shared>,
    info: SpeakerInfo,
    stop: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Speaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Speaker")
            .field("info", &self.info)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Speaker {
    /// Start playback on the default output device (`None`) or the one named `device` (its name
    /// as [`list_output_devices`] gives it, or its backend id). An unknown name, no default
    /// device, or a device that will not start is [`AudioError::Device`] listing the output
    /// devices that exist. Blocks until playback has started or failed.
    pub fn open(device: Option<&str>) -> Result<Speaker, AudioError> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(PlaybackQueue::new(QUEUE_SAMPLES, PRIME_SAMPLES)),
            errors: AtomicU64::new(0),
        });
        let wanted = device.map(str::to_string);
        let thread_shared = Arc::clone(&shared);
        let (info, stop_tx, thread) = open_on_thread(
            "zonecast-speaker",
            "speaker",
            "playback",
            move |ready, stop| run_stream(wanted, thread_shared, ready, stop),
        )
        .map_err(|(OpenError::Stream(e) | OpenError::Thread(e))| e)?;
        tracing::info!(
            device = %info.device,
            rate = info.sample_rate,
            channels = info.channels,
            format = %info.sample_format,
            "speaker open"
        );
        Ok(Speaker {
            shared,
            info,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Queue 8 kHz mono samples for playback (any count). Never blocks beyond one copy; when
    /// the device falls behind, the oldest queued samples are dropped.
    pub fn push(&self, samples: &[i16]) {
        self.shared.queue().push(samples);
    }

    /// Play what is queued without waiting for the prime: call it after the last push, or the
    /// end of the audio (less than [`PRIME_SAMPLES`]) waits for more.
    pub fn flush(&self) {
        self.shared.queue().flush();
    }

    /// The device and the format it runs at.
    pub fn info(&self) -> &SpeakerInfo {
        &self.info
    }

    /// Samples received, played, dropped; underruns; device errors so far.
    pub fn stats(&self) -> SpeakerStats {
        SpeakerStats {
            stream_errors: self.shared.errors.load(Ordering::Relaxed),
            ..self.shared.queue().stats()
        }
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.try_send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Body of the stream thread: open, report, then keep the stream alive until told to stop.
fn run_stream(
    wanted: Option<String>,
    shared: Arc<Shared>,
    ready: SyncSender<Result<SpeakerInfo, AudioError>>,
    stop: Receiver<()>,
) {
    match start(wanted.as_deref(), shared) {
        Ok((stream, info)) => {
            if ready.send(Ok(info)).is_ok() {
                let _ = stop.recv();
            }
            drop(stream);
        }
        Err(e) => {
            let _ = ready.send(Err(e));
        }
    }
}

fn start(
    wanted: Option<&str>,
    shared: Arc<Shared>,
) -> Result<(cpal::Stream, SpeakerInfo), AudioError> {
    let host = cpal::default_host();
    let device = match wanted {
        None => host.default_output_device(),
        Some(name) => find_device(&host, name),
    }
    .ok_or_else(|| {
        AudioError::Device(format!(
            "{}; {}",
            match wanted {
                Some(name) => format!("no audio output device named {name:?}"),
                None => "no default audio output device".into(),
            },
            available(&list_on(&host))
        ))
    })?;
    let name = device_name(&device);
    // Every failure past here names the device and what else there is.
    let fail = |what: String| {
        AudioError::Device(format!("{name}: {what}; {}", available(&list_on(&host))))
    };
    let default = device
        .default_output_config()
        .map_err(|e| fail(format!("no usable output configuration: {e}")))?;
    let format = default.sample_format();
    // 8 kHz in the device's own format and channels, when it takes it: no conversion here (and
    // a sound server resamples better than linear interpolation).
    let supported = device
        .supported_output_configs()
        .ok()
        .and_then(|mut ranges| {
            ranges.find_map(|r| {
                (r.sample_format() == format && r.channels() == default.channels())
                    .then(|| r.try_with_sample_rate(SAMPLE_RATE))
                    .flatten()
            })
        })
        .unwrap_or(default);
    let config = supported.config();
    let info = SpeakerInfo {
        device: name.clone(),
        sample_rate: config.sample_rate,
        channels: config.channels,
        sample_format: format.to_string(),
    };
    // 20 ms device periods keep the queue (and the latency) short; devices that refuse the size
    // get their default.
    let small = match supported.buffer_size() {
        cpal::SupportedBufferSize::Range { min, max } => Some(StreamConfig {
            buffer_size: cpal::BufferSize::Fixed((config.sample_rate / 50).clamp(*min, *max)),
            ..config
        }),
        cpal::SupportedBufferSize::Unknown => None,
    };
    let open = |config: StreamConfig| -> Result<cpal::Stream, AudioError> {
        let shared = Arc::clone(&shared);
        let stream = match format {
            SampleFormat::I8 => build::<i8>(&device, config, shared),
            SampleFormat::I16 => build::<i16>(&device, config, shared),
            SampleFormat::I24 => build::<cpal::I24>(&device, config, shared),
            SampleFormat::I32 => build::<i32>(&device, config, shared),
            SampleFormat::I64 => build::<i64>(&device, config, shared),
            SampleFormat::U8 => build::<u8>(&device, config, shared),
            SampleFormat::U16 => build::<u16>(&device, config, shared),
            SampleFormat::U32 => build::<u32>(&device, config, shared),
            SampleFormat::U64 => build::<u64>(&device, config, shared),
            SampleFormat::F32 => build::<f32>(&device, config, shared),
            SampleFormat::F64 => build::<f64>(&device, config, shared),
            other => return Err(fail(format!("sample format {other} is not supported"))),
        }
        .map_err(|e| fail(e.to_string()))?;
        stream
            .play()
            .map_err(|e| fail(format!("cannot start playback: {e}")))?;
        Ok(stream)
    };
    let stream = match small.map(&open) {
        Some(Ok(stream)) => stream,
        Some(Err(e)) => {
            tracing::debug!("small device buffer refused ({e}); using the default size");
            open(config)?
        }
        None => open(config)?,
    };
    Ok((stream, info))
}

/// Build the output stream for sample type `T`. The data callback runs on cpal's audio thread:
/// it takes the queue's lock once, converts the rate and the format, and allocates nothing.
fn build<T>(
    device: &cpal::Device,
    config: StreamConfig,
    shared: Arc<Shared>,
) -> Result<cpal::Stream, AudioError>
where
    T: SizedSample + FromSample<f32> + Send + 'static,
{
    let mut upsampler = Upsampler::new(config.sample_rate)?;
    let channels = usize::from(config.channels).max(1);
    let errors = Arc::clone(&shared);
    device
        .build_output_stream::<T, _, _>(
            config,
            move |data: &mut [T], _: &cpal::OutputCallbackInfo| {
                let mut queue = shared.queue();
                queue.note_demand(upsampler.input_for(data.len() / channels));
                let mut pull = || queue.pop().map_or(0.0, |s| f32::from(s) / 32768.0);
                for frame in data.chunks_mut(channels) {
                    let v = T::from_sample_(upsampler.next_sample(&mut pull));
                    frame.fill(v);
                }
            },
            move |e: cpal::Error| {
                // Logged once: an xrun storm must not flood the log from the audio thread.
                if errors.errors.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!("speaker stream error: {e}");
                }
            },
            // Two attempts (small buffer, then default) must fit in OPEN_TIMEOUT.
            Some(OPEN_TIMEOUT / 3),
        )
        .map_err(|e| AudioError::Device(format!("cannot open output stream: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::{Limited, Source, Tone, render};

    fn ramp(n: usize) -> Vec<i16> {
        (0..n).map(|i| i as i16).collect()
    }

    #[test]
    fn waits_for_the_prime_then_plays_in_order() {
        let mut q = PlaybackQueue::new(100, 10);
        q.push(&ramp(9));
        assert_eq!(q.pop(), None, "not primed yet");
        assert_eq!(q.stats().underruns, 0, "priming is not an underrun");
        q.push(&[9]);
        let got: Vec<_> = (0..10).map(|_| q.pop().unwrap()).collect();
        assert_eq!(got, ramp(10));
        assert_eq!(q.pop(), None);
        let s = q.stats();
        assert_eq!(
            (s.received, s.played, s.dropped, s.underruns),
            (10, 10, 0, 1)
        );
        // After running dry it waits for a full prime again.
        q.push(&ramp(5));
        assert_eq!(q.pop(), None);
        assert_eq!(
            q.stats().underruns,
            1,
            "still priming, not a second underrun"
        );
    }

    #[test]
    fn a_full_queue_drops_the_oldest() {
        let mut q = PlaybackQueue::new(8, 1);
        q.push(&ramp(6));
        q.push(&[100, 101, 102, 103, 104]);
        assert_eq!(q.len(), 8);
        let got: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(got, [3, 4, 5, 100, 101, 102, 103, 104]);
        // One push larger than the whole queue keeps its newest samples.
        q.push(&ramp(20));
        let got: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(got, (12..20).collect::<Vec<i16>>());
        let s = q.stats();
        assert_eq!((s.received, s.played, s.dropped), (31, 16, 15));
        assert_eq!(s.received, s.played + s.dropped + q.len() as u64);
    }

    #[test]
    fn prime_grows_with_the_device_demand_but_not_past_capacity() {
        let mut q = PlaybackQueue::new(50, 10);
        q.note_demand(30);
        q.push(&ramp(20));
        assert!(!q.is_playing());
        q.push(&ramp(10));
        assert!(q.is_playing());
        let mut q = PlaybackQueue::new(50, 10);
        q.note_demand(1000);
        q.push(&ramp(50));
        assert!(q.is_playing(), "a full queue always plays");
    }

    #[test]
    fn steady_producer_and_bursty_device_neither_drop_nor_underrun() {
        // A packet of 160 every 20 ms; a device pulling 441 samples of 44.1 kHz every 10 ms.
        let mut q = PlaybackQueue::new(QUEUE_SAMPLES, PRIME_SAMPLES);
        let mut up = Upsampler::new(44_100).unwrap();
        let packet = vec![1000i16; 160];
        let mut out = 0usize;
        for ms in 0..5000 {
            if ms % 20 == 0 {
                q.push(&packet);
            }
            if ms % 10 == 9 {
                q.note_demand(up.input_for(441));
                let mut pull = || q.pop().map_or(0.0, f32::from);
                for _ in 0..441 {
                    up.next_sample(&mut pull);
                    out += 1;
                }
            }
        }
        let s = q.stats();
        assert_eq!(s.dropped, 0, "{s:?}");
        assert_eq!(s.underruns, 0, "{s:?}");
        // 5 s at 8 kHz were received; all but the prime (and the interpolator's sample) played.
        assert_eq!(out, 5 * 44_100);
        assert!(
            s.played + (PRIME_SAMPLES as u64) + 200 >= s.received,
            "{s:?}"
        );
    }

    #[test]
    fn upsampling_keeps_the_tone_and_the_duration() {
        let tone = render(Tone::new(1000.0, -6.0), Duration::from_secs(1));
        assert_eq!(tone.len(), 8000);
        for rate in [16_000u32, 44_100, 48_000] {
            let mut up = Upsampler::new(rate).unwrap();
            let mut input = tone.iter().copied();
            let mut pulled = 0usize;
            let mut pull = || {
                pulled += 1;
                input.next().map_or(0.0, f32::from)
            };
            let n = crate::audio::resampled_len(tone.len(), SAMPLE_RATE, rate);
            let out: Vec<f64> = (0..n)
                .map(|_| f64::from(up.next_sample(&mut pull)))
                .collect();
            assert!(
                pulled.abs_diff(tone.len()) <= 1,
                "{rate}: pulled {pulled} of {}",
                tone.len()
            );
            let f = crate::audio::test_util::dominant_frequency(&out, f64::from(rate));
            assert!((f - 1000.0).abs() <= 10.0, "{rate}: {f} Hz");
            let rms_in = crate::audio::test_util::rms(&crate::audio::test_util::to_f64(&tone));
            let rms_out = crate::audio::test_util::rms(&out);
            assert!(
                (rms_out / rms_in - 1.0).abs() < 0.1, // linear interpolation: -0.45 dB at 1 kHz
                "{rate}: {rms_out} vs {rms_in}"
            );
        }
    }

    #[test]
    fn equal_rates_pass_samples_through() {
        let mut up = Upsampler::new(SAMPLE_RATE).unwrap();
        let mut input = [1.0f32, -2.0, 3.0].into_iter();
        let mut pull = || input.next().unwrap_or(0.0);
        let out: Vec<f32> = (0..3).map(|_| up.next_sample(&mut pull)).collect();
        assert_eq!(out, [1.0, -2.0, 3.0]);
        assert!(Upsampler::new(0).is_err());
    }

    #[test]
    fn an_unknown_device_is_refused_with_the_list_of_devices() {
        let err = Speaker::open(Some("no-such-speaker-zz")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("\"no-such-speaker-zz\""), "{msg}");
        assert!(
            msg.contains("available output devices:")
                || msg.contains("this machine has no audio output devices"),
            "{msg}"
        );
        for d in list_output_devices() {
            assert!(msg.contains(&format!("{d:?}")), "{d} missing from: {msg}");
        }
    }

    #[test]
    fn plays_a_second_of_tone_on_the_alsa_null_device() {
        if !list_output_devices().iter().any(|d| d == "null") {
            eprintln!(
                "skipped: no output device named \"null\" (devices: {:?})",
                list_output_devices()
            );
            return;
        }
        let speaker = Speaker::open(Some("null")).expect("open null");
        assert_eq!(speaker.info().device, "null");
        let mut tone = Limited::new(Tone::new(440.0, -12.0), Duration::from_secs(1));
        let mut frame = [0i16; crate::audio::FRAME_SAMPLES];
        let mut pushed = 0u64;
        // Paced like packets: 50 frames of 20 ms.
        let start = std::time::Instant::now();
        while tone.next_frame(&mut frame) {
            speaker.push(&frame);
            pushed += frame.len() as u64;
            let due = crate::audio::FRAME_DURATION * u32::try_from(pushed / 160).unwrap();
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        assert_eq!(pushed, u64::from(SAMPLE_RATE));
        speaker.flush();
        // Let the device drain what is queued.
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while speaker.stats().played + speaker.stats().dropped < pushed
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let s = speaker.stats();
        eprintln!("null device {:?}: {s:?}", speaker.info());
        assert_eq!(s.received, pushed);
        assert!(s.played > 0, "{s:?}");
        assert_eq!(s.played + s.dropped, pushed, "all consumed: {s:?}");
        drop(speaker);
    }
}
