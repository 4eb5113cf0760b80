//! (in progress)
/// Placeholder.
#[derive(Debug, Clone, Default)]
pub struct SimConfig;
