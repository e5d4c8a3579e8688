//! Inference for requests: at most `max_concurrent_predictions` at once (beyond that 503 with
//! `Retry-After`, never a queue), on tokio's blocking pool, at a lower CPU priority than the
//! camera workers so that uploads do not slow the cameras down.

use hyper::StatusCode;

use super::AppState;
use super::error::ApiError;

/// Takes a prediction slot, or refuses with 503.
pub(super) fn slot(state: &AppState) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    state
        .predict_slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| {
            state.metrics.predictions_rejected.inc();
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "all prediction slots are busy; retry shortly",
            )
        })
}

/// Runs request inference on the blocking pool, at a lower CPU priority than the camera
/// workers, so uploads never slow the cameras down.
pub(super) async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || {
        crate::threads::lower_priority(crate::threads::REQUEST_NICE);
        f()
    })
    .await
    .map_err(|e| ApiError::internal(format!("worker failed: {e}")))?
}
