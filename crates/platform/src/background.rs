//! Work a service runs beside its HTTP API (timers, refreshes, delivery workers).

use std::future::Future;

/// A task running in the background on the current Tokio runtime; dropping it stops it.
#[derive(Debug)]
pub struct BackgroundTask(tokio::task::JoinHandle<()>);

impl BackgroundTask {
    /// Starts `work`.
    pub fn spawn(work: impl Future<Output = ()> + Send + 'static) -> Self {
        BackgroundTask(tokio::spawn(work))
    }
}

impl Drop for BackgroundTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}
