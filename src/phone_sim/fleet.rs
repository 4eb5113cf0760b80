//! (in progress)
/// Placeholder.
pub struct Fleet;
/// Placeholder.
pub struct FleetReport;
/// Placeholder.
pub struct PhoneInfo;
