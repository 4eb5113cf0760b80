//! The JSON refusal the console's routes answer with (`events`, `bells`, `sounds`,
//! `recordings`, `ringtones`, `health`): `{"error": "what went wrong"}` with the fitting status,
//! the same body the rest of the API gives. It decides no status itself.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A refusal: the status and why, in words (answered as `{"error": why}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong.
    pub why: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.why }))).into_response()
    }
}

/// What a console route answers: a response, or a refusal.
pub type Answered = Result<Response, Refusal>;

/// `status` with `{"error": why}`.
pub fn refuse(status: StatusCode, why: impl std::fmt::Display) -> Refusal {
    Refusal {
        status,
        why: why.to_string(),
    }
}

/// An unexpected failure (a file that cannot be read, a task that panicked): 500 saying what.
pub fn failed(why: impl std::fmt::Display) -> Refusal {
    refuse(StatusCode::INTERNAL_SERVER_ERROR, why)
}
