//! The live microphone: [`Mic::open`] starts capture on a device and returns a [`MicSource`]
//! that the pacer reads every 20 ms without ever waiting.
//!
//! cpal calls our callback on its own audio thread with whatever the device delivers (any rate,
//! channel count and sample format). The callback mixes to mono floats, resamples to 8 kHz with
//! a [`StreamResampler`] it owns, and pushes frames into a shared [`FrameQueue`] under a lock
//! held for one 320-byte copy. The pacer's [`MicSource::next_frame`] takes the newest frame or,
//! when none is there, sends silence: the queue adds at most one frame of delay, by dropping old
//! frames instead of accumulating them (see [`FrameQueue`]).
//!
//! The cpal `Stream` is not `Send` on every platform, so it lives on a small thread owned by the
//! [`MicSource`]; dropping the source stops that thread and with it the capture.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample, StreamConfig};

use super::error::AudioError;
use super::frame::{Frame, Source};
use super::frame_queue::{FrameQueue, QueueStats};
use super::resample::StreamResampler;

/// How long opening a device may take before we give up on it (a wedged sound server).
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// A device's name as users know it. On ALSA that is the PCM name (`default`, `hw:CARD=…`, as
/// `arecord -D` takes), because ALSA's descriptions are multi-line prose; elsewhere it is the
/// description's name ("MacBook Pro Microphone"), because the ids there are opaque UIDs.
pub(super) fn device_name(device: &cpal::Device) -> String {
    let id = device.id().ok();
    if let Some(id) = &id
        && id.host().name() == "ALSA"
    {
        return id.id().to_string();
    }
    match device.description() {
        Ok(d) if !d.name().trim().is_empty() => d
            .name()
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
        _ => id.map_or_else(|| "(unnamed device)".to_string(), |id| id.id().to_string()),
    }
}

/// The strings a user may type to pick `device`: its name, its backend id, the full `host:id`
/// form, and its description's first line.
pub(super) fn device_aliases(device: &cpal::Device) -> Vec<String> {
    let mut names = vec![device_name(device)];
    if let Ok(id) = device.id() {
        names.push(id.id().to_string());
        names.push(id.to_string());
    }
    if let Ok(d) = device.description()
        && let Some(first) = d.name().lines().next()
    {
        names.push(first.trim().to_string());
    }
    names
}

/// Names of the input devices of the default host, for `--mic NAME` and error messages. Empty
/// when the machine has none (or the audio system cannot be reached).
pub fn list_input_devices() -> Vec<String> {
    let host = cpal::default_host();
    list_on(&host)
}

fn list_on(host: &cpal::Host) -> Vec<String> {
    match host.input_devices() {
        Ok(devices) => devices.map(|d| device_name(&d)).collect(),
        Err(e) => {
            tracing::debug!("listing input devices: {e}");
            Vec::new()
        }
    }
}

fn find_device(host: &cpal::Host, wanted: &str) -> Option<cpal::Device> {
    let devices: Vec<cpal::Device> = host.input_devices().ok()?.collect();
    let exact = devices
        .iter()
        .position(|d| device_aliases(d).iter().any(|n| n == wanted));
    let loose = || {
        devices.iter().position(|d| {
            device_aliases(d)
                .iter()
                .any(|n| n.eq_ignore_ascii_case(wanted))
        })
    };
    let index = exact.or_else(loose)?;
    devices.into_iter().nth(index)
}

/// What a [`MicSource`] captures from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MicInfo {
    /// Device name.
    pub device: String,
    /// The device's native rate, resampled to 8 kHz.
    pub sample_rate: u32,
    /// The device's channels, mixed to mono.
    pub channels: u16,
    /// The device's sample format, converted to float.
    pub sample_format: String,
}

/// Counters of a [`MicSource`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct MicStats {
    /// 20 ms frames captured (after resampling).
    pub frames: u64,
    /// Frames handed to the pacer.
    pub delivered: u64,
    /// Times the pacer found no frame and sent silence.
    pub underruns: u64,
    /// Frames dropped to keep latency at one frame.
    pub overruns: u64,
    /// Errors the device reported (xruns, disconnection ...).
    pub stream_errors: u64,
}

impl MicStats {
    fn new(q: QueueStats, stream_errors: u64) -> MicStats {
        MicStats {
            frames: q.frames,
            delivered: q.delivered,
            underruns: q.underruns,
            overruns: q.overruns,
            stream_errors,
        }
    }
}

/// Opens microphones. See [`Mic::open`].
#[derive(Debug, Clone, Copy)]
pub struct Mic;

/// State shared by the device callback, the stream thread and the [`MicSource`].
struct Shared {
    queue: Mutex<FrameQueue>,
    errors: AtomicU64,
}

impl Shared {
    fn queue(&self) -> MutexGuard<'_, FrameQueue> {
        // A panic while holding the lock leaves a queue of plain integers: still usable.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Mic {
    /// Start capturing from the default input device (`None`) or the one named `device` (its
    /// name as [`list_input_devices`] gives it, or its backend id). An unknown name, or no
    /// default device, is [`AudioError::NoDevice`] listing the devices that exist; a device
    /// that will not start is [`AudioError::Device`]. Blocks until capture has started or
    /// failed.
    pub fn open(device: Option<&str>) -> Result<MicSource, AudioError> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(FrameQueue::new()),
            errors: AtomicU64::new(0),
        });
        let wanted = device.map(str::to_string);
        let thread_shared = Arc::clone(&shared);
        let (info, stop_tx, thread) = open_on_thread(
            "zonecast-mic",
            "microphone",
            "capture",
            move |ready, stop| run_stream(wanted, thread_shared, ready, stop),
        )
        .map_err(|e| match (e, device) {
            // The default device exists but will not capture (no sound card behind it): say
            // what the user could name instead.
            (OpenError::Stream(AudioError::Device(m)), None) => AudioError::Device(format!(
                "{m}; {}",
                super::error::AvailableDevices(&list_input_devices())
            )),
            (OpenError::Stream(e) | OpenError::Thread(e), _) => e,
        })?;
        tracing::info!(
            device = %info.device,
            rate = info.sample_rate,
            channels = info.channels,
            format = %info.sample_format,
            "microphone open"
        );
        Ok(MicSource {
            shared,
            info,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

/// Why a device could not be opened on its thread.
pub(super) enum OpenError {
    /// The stream itself refused (as the thread reported it).
    Stream(AudioError),
    /// The thread could not start, stopped early, or the audio system did not answer in time.
    Thread(AudioError),
}

/// Start `body` on a thread of its own (cpal streams are not `Send`, so each lives on the
/// thread that made it) and wait, at most [`OPEN_TIMEOUT`], for it to report the device open.
/// `body` gets the channel to report on and the one that tells it to stop. `what` names the
/// device ("microphone"), `doing` what it does ("capture") in the errors. On a timeout the
/// thread is left to finish on its own: if the device does come up later, it finds nobody
/// listening and closes the stream. `thread` names the thread.
pub(super) fn open_on_thread<I: Send + 'static>(
    thread: &str,
    what: &str,
    doing: &str,
    body: impl FnOnce(SyncSender<Result<I, AudioError>>, Receiver<()>) + Send + 'static,
) -> Result<(I, SyncSender<()>, JoinHandle<()>), OpenError> {
    let (ready_tx, ready_rx) = sync_channel(1);
    let (stop_tx, stop_rx) = sync_channel::<()>(1);
    let thread = std::thread::Builder::new()
        .name(thread.into())
        .spawn(move || body(ready_tx, stop_rx))
        .map_err(|e| {
            OpenError::Thread(AudioError::Device(format!(
                "starting the {what} thread: {e}"
            )))
        })?;
    match ready_rx.recv_timeout(OPEN_TIMEOUT) {
        Ok(Ok(info)) => Ok((info, stop_tx, thread)),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(OpenError::Stream(e))
        }
        Err(RecvTimeoutError::Timeout) => Err(OpenError::Thread(AudioError::Device(format!(
            "the audio system did not start {doing} within {} s",
            OPEN_TIMEOUT.as_secs()
        )))),
        Err(RecvTimeoutError::Disconnected) => {
            let _ = thread.join();
            Err(OpenError::Thread(AudioError::Device(format!(
                "the {what} thread stopped before {doing} started"
            ))))
        }
    }
}

/// Body of the stream thread: open, report, then keep the stream alive until told to stop.
fn run_stream(
    wanted: Option<String>,
    shared: Arc<Shared>,
    ready: SyncSender<Result<MicInfo, AudioError>>,
    stop: Receiver<()>,
) {
    match start(wanted.as_deref(), shared) {
        Ok((stream, info)) => {
            if ready.send(Ok(info)).is_ok() {
                // Returns when the MicSource sends stop or drops its sender.
                let _ = stop.recv();
            }
            drop(stream);
        }
        Err(e) => {
            let _ = ready.send(Err(e));
        }
    }
}

fn start(wanted: Option<&str>, shared: Arc<Shared>) -> Result<(cpal::Stream, MicInfo), AudioError> {
    let host = cpal::default_host();
    let device = match wanted {
        None => host.default_input_device(),
        Some(name) => find_device(&host, name),
    }
    .ok_or_else(|| AudioError::NoDevice {
        wanted: wanted.map(str::to_string),
        available: list_on(&host),
    })?;
    let name = device_name(&device);
    let supported = device
        .default_input_config()
        .map_err(|e| AudioError::Device(format!("{name}: no usable input configuration: {e}")))?;
    let format = supported.sample_format();
    let default_config = supported.config();
    let info = MicInfo {
        device: name.clone(),
        sample_rate: default_config.sample_rate,
        channels: default_config.channels,
        sample_format: format.to_string(),
    };
    // Small device periods (5 ms) keep frames arriving evenly: the queue keeps only one frame,
    // so a device delivering 80 ms bursts would lose three frames in four. Devices that refuse
    // the size get their default.
    let small = match supported.buffer_size() {
        cpal::SupportedBufferSize::Range { min, max } => Some(StreamConfig {
            buffer_size: cpal::BufferSize::Fixed(
                (default_config.sample_rate / 200).clamp(*min, *max),
            ),
            ..default_config
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
            other => {
                return Err(AudioError::Device(format!(
                    "{name}: sample format {other} is not supported"
                )));
            }
        }
        .map_err(|e| match e {
            AudioError::Device(m) => AudioError::Device(format!("{name}: {m}")),
            other => other,
        })?;
        stream
            .play()
            .map_err(|e| AudioError::Device(format!("{name}: cannot start capture: {e}")))?;
        Ok(stream)
    };
    let stream = match small.map(&open) {
        Some(Ok(stream)) => stream,
        Some(Err(e)) => {
            tracing::debug!("small device buffer refused ({e}); using the default size");
            open(default_config)?
        }
        None => open(default_config)?,
    };
    Ok((stream, info))
}

/// Build the input stream for sample type `T`. The data callback runs on cpal's audio thread:
/// it converts, mixes, resamples and queues without allocating.
fn build<T>(
    device: &cpal::Device,
    config: StreamConfig,
    shared: Arc<Shared>,
) -> Result<cpal::Stream, AudioError>
where
    T: SizedSample + Send + 'static,
    f32: FromSample<T>,
{
    let mut resampler = StreamResampler::new(config.sample_rate)?;
    let channels = usize::from(config.channels).max(1);
    let scale = 1.0 / channels as f32;
    let errors = Arc::clone(&shared);
    let mut emit = move |frame: &[i16]| shared.queue().push_samples(frame);
    device
        .build_input_stream::<T, _, _>(
            config,
            move |data: &[T], _: &cpal::InputCallbackInfo| {
                for frame in data.chunks(channels) {
                    let sum: f32 = frame.iter().map(|&s| f32::from_sample_(s)).sum();
                    resampler.push(sum * scale, &mut emit);
                }
            },
            move |e: cpal::Error| {
                // Logged once: an xrun storm must not flood the log from the audio thread.
                if errors.errors.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!("microphone stream error: {e}");
                }
            },
            // Two attempts (small buffer, then default) must fit in OPEN_TIMEOUT.
            Some(OPEN_TIMEOUT / 3),
        )
        .map_err(|e| AudioError::Device(format!("cannot open input stream: {e}")))
}

/// A live microphone as a [`Source`]: never ends, never blocks. Dropping it stops capture.
pub struct MicSource {
    shared: Arc<Shared>,
    info: MicInfo,
    stop: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for MicSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicSource")
            .field("info", &self.info)
            .field("stats", &self.stats())
            .finish()
    }
}

impl MicSource {
    /// The device and its native format.
    pub fn info(&self) -> &MicInfo {
        &self.info
    }

    /// Frames captured, delivered, underruns, overruns, device errors so far.
    pub fn stats(&self) -> MicStats {
        let q = self.shared.queue().stats();
        MicStats::new(q, self.shared.errors.load(Ordering::Relaxed))
    }
}

impl Source for MicSource {
    fn next_frame(&mut self, frame: &mut Frame) -> bool {
        // Underrun or not, a live source always has a frame: silence stands in for late audio.
        self.shared.queue().pop(frame);
        true
    }
}

impl Drop for MicSource {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.try_send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
