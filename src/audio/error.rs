//! [`AudioError`]: everything that can go wrong reading a sound or opening a device.
//!
//! Every file error carries the path, so the message a user sees always says which file; the
//! device error lists the devices that do exist, so a typo can be fixed without another tool.

use std::fmt;
use std::path::PathBuf;

use crate::error::Invalid;

/// A sound that could not be read, or a device that could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file could not be opened or read.
    #[error("audio file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The file is readable but not a format or encoding this program decodes.
    #[error("audio file {}: unsupported: {reason}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// Which format or feature, in words.
        reason: String,
    },
    /// The file claims a supported format but its contents are broken.
    #[error("audio file {}: cannot decode: {reason}", path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// The requested input device (or, with `wanted: None`, any default input) does not exist.
    #[error("{}", NoDeviceMessage { wanted, available })]
    NoDevice {
        /// The name asked for; `None` for the default input device.
        wanted: Option<String>,
        /// Names of the input devices that do exist.
        available: Vec<String>,
    },
    /// The device exists but could not be configured or started.
    #[error("audio device: {0}")]
    Device(String),
    /// An argument outside its allowed range (a sample rate of 0 Hz, say).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The resampler refused its input; a bug here rather than bad input, but reported, not
    /// panicked on.
    #[error("resampling {from_hz} Hz to {to_hz} Hz: {reason}")]
    Resample {
        /// Input rate.
        from_hz: u32,
        /// Output rate.
        to_hz: u32,
        /// What rubato said.
        reason: String,
    },
}

/// Formats [`AudioError::NoDevice`]: the message must tell the user what to type instead.
struct NoDeviceMessage<'a> {
    wanted: &'a Option<String>,
    available: &'a [String],
}

impl fmt::Display for NoDeviceMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.wanted {
            Some(name) => write!(f, "no audio input device named {name:?}")?,
            None => write!(f, "no default audio input device")?,
        }
        write!(f, "; {}", AvailableDevices(self.available))
    }
}

/// `available input devices: "a", "b"`, or that there are none: the tail of every message
/// about a microphone that could not be used.
pub(crate) struct AvailableDevices<'a>(pub(crate) &'a [String]);

impl fmt::Display for AvailableDevices<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return write!(f, "this machine has no audio input devices");
        }
        let quoted: Vec<String> = self.0.iter().map(|d| format!("{d:?}")).collect();
        write!(f, "available input devices: {}", quoted.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_device_lists_what_exists() {
        let e = AudioError::NoDevice {
            wanted: Some("usb".into()),
            available: vec!["default".into(), "hw:1,0".into()],
        };
        let msg = e.to_string();
        assert!(msg.contains("\"usb\""), "{msg}");
        assert!(msg.contains("\"default\", \"hw:1,0\""), "{msg}");
    }

    #[test]
    fn no_device_says_when_there_are_none() {
        let e = AudioError::NoDevice {
            wanted: None,
            available: vec![],
        };
        assert_eq!(
            e.to_string(),
            "no default audio input device; this machine has no audio input devices"
        );
    }

    #[test]
    fn file_errors_name_the_file() {
        let e = AudioError::Decode {
            path: "/tmp/x.wav".into(),
            reason: "bad header".into(),
        };
        assert!(e.to_string().contains("/tmp/x.wav"));
    }
}
