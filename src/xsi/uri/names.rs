//! The URI arguments that are a fixed set of names (`SoftKey:Submit`, `Init:AppStatus`,
//! `Resource:Icon.Locked` ...): one unit enum each, spelled exactly as the spec spells them.

use std::fmt;
use std::str::FromStr;

use crate::error::Invalid;

/// Defines a unit enum whose wire form is a fixed string per variant, with `ALL`, `name()`,
/// `Display` and a case-sensitive `FromStr` whose error lists every allowed name.
macro_rules! named {
    (
        $(#[$meta:meta])*
        $ty:ident, $field:literal {
            $($(#[$vmeta:meta])* $var:ident => $wire:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $ty {
            $($(#[$vmeta])* $var),+
        }

        impl $ty {
            /// Every value, in spec order.
            pub const ALL: &'static [$ty] = &[$($ty::$var),+];
            /// The rule printed when a name is not one of these.
            const RULE: &'static str = concat!("one of" $(, " ", $wire)+);

            /// The exact wire spelling.
            pub const fn name(self) -> &'static str {
                match self {
                    $($ty::$var => $wire),+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $ty {
            type Err = Invalid;
            fn from_str(s: &str) -> Result<Self, Invalid> {
                match s {
                    $($wire => Ok($ty::$var),)+
                    _ => Err(Invalid::new($field, s, Self::RULE)),
                }
            }
        }
    };
}

named! {
    /// `SoftKey:NAME`: presses a soft key of the object on screen. `Dial` and `EditDial` only
    /// work while a Directory object is shown.
    SoftKey, "SoftKey name" {
        Back => "Back",
        Cancel => "Cancel",
        Exit => "Exit",
        Next => "Next",
        Search => "Search",
        Select => "Select",
        Submit => "Submit",
        Update => "Update",
        Dial => "Dial",
        EditDial => "EditDial",
        /// `SoftKey:<<`, the backspace soft key.
        Backspace => "<<",
    }
}

named! {
    /// `Init:NAME`: clears a log or closes a built-in application.
    Init, "Init name" {
        /// Clears the Missed/Received/Placed call logs.
        CallHistory => "CallHistory",
        Services => "Services",
        Messages => "Messages",
        Directories => "Directories",
        /// Clears a pushed CiscoIPPhoneStatus (the only way to remove one).
        AppStatus => "AppStatus",
    }
}

named! {
    /// `Device:NAME`. GeneratePRT and PRTStatus exist on the 8821 only.
    DeviceCmd, "Device command" {
        Unlock => "Unlock",
        GeneratePRT => "GeneratePRT",
        PRTStatus => "PRTStatus",
    }
}

named! {
    /// `Button:NAME`, the touch buttons of the 8875 settings screens.
    Button, "Button name" {
        Back => "Back",
        Backspace => "Backspace",
        Apply => "Apply",
    }
}

named! {
    /// `Resource:NAME`, a built-in icon (used in CiscoIPPhoneIconFileMenu URLs).
    Icon, "Resource icon" {
        Connected => "Icon.Connected",
        AuthenticatedCall => "Icon.AuthenticatedCall",
        SecureCall => "Icon.SecureCall",
        OnHook => "Icon.OnHook",
        OffHook => "Icon.OffHook",
        Messages => "Icon.Messages",
        InUse => "Icon.InUse",
        Headset => "Icon.Headset",
        Handset => "Icon.Handset",
        Speaker => "Icon.Speaker",
        Locked => "Icon.Locked",
        UnLocked => "Icon.UnLocked",
        Checked => "Icon.Checked",
        UnChecked => "Icon.UnChecked",
        RadioButtonOn => "Icon.RadioButtonOn",
        RadioButtonOff => "Icon.RadioButtonOff",
        AnimatedRingin => "AnimatedIcon.Ringin",
        AnimatedHold => "AnimatedIcon.Hold",
        AnimatedMessageWaiting => "AnimatedIcon.MessageWaiting",
        AnimatedStreamingRx => "AnimatedIcon.StreamingRx",
        AnimatedStreamingTx => "AnimatedIcon.StreamingTx",
        AnimatedStreamRxTx => "AnimatedIcon.StreamRxTx",
        AnimatedThrobber => "AnimatedIcon.Throbber",
    }
}

named! {
    /// The `s` field of `RTPRx`/`RTPMRx`: where the phone plays the stream.
    AudioPath, "audio path" {
        /// `0`, the phone's default when the field is absent.
        Speaker => "0",
        /// `1`, handset or headset.
        Handset => "1",
        /// `2`, whatever path is active.
        Current => "2",
    }
}

named! {
    /// What an `App:` URI does to an application.
    AppAction, "App action" {
        RequestFocus => "RequestFocus",
        ReleaseFocus => "ReleaseFocus",
        Minimize => "Minimize",
        Close => "Close",
    }
}

named! {
    /// The priority field of an `App:` URI.
    AppPriority, "App priority" {
        /// `0`; not available inside an application event handler.
        Immediate => "0",
        /// `1`, once the user is idle.
        WhenIdle => "1",
        /// `2`, only if the user is already idle.
        IfIdle => "2",
    }
}
