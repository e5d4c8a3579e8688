//! Shutdown: one signal handed to every thread and task.
//!
//! Capture and worker threads poll [`Shutdown::is_triggered`] or sleep with
//! [`Shutdown::sleep`], which wakes early when shutdown starts; async tasks await
//! [`Shutdown::wait`]. Triggering is idempotent.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

#[derive(Clone)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

struct Inner {
    flag: AtomicBool,
    lock: Mutex<()>,
    cvar: Condvar,
    tx: tokio::sync::watch::Sender<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    pub fn new() -> Shutdown {
        let (tx, _rx) = tokio::sync::watch::channel(false);
        Shutdown {
            inner: Arc::new(Inner {
                flag: AtomicBool::new(false),
                lock: Mutex::new(()),
                cvar: Condvar::new(),
                tx,
            }),
        }
    }

    /// Starts shutdown: every waiter wakes.
    pub fn trigger(&self) {
        self.inner.flag.store(true, Ordering::SeqCst);
        let _guard = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.inner.cvar.notify_all();
        self.inner.tx.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        self.inner.flag.load(Ordering::SeqCst)
    }

    /// Blocks the calling thread for `d` or until shutdown; returns `true` if shutdown started.
    pub fn sleep(&self, d: Duration) -> bool {
        let guard = self.inner.lock.lock().unwrap_or_else(|e| e.into_inner());
        let (_guard, _) = self
            .inner
            .cvar
            .wait_timeout_while(guard, d, |_| !self.is_triggered())
            .unwrap_or_else(|e| e.into_inner());
        self.is_triggered()
    }

    /// Resolves once shutdown has started.
    pub async fn wait(&self) {
        let mut rx = self.inner.tx.subscribe();
        // An error means the sender is gone, which cannot happen while `self` lives.
        let _ = rx.wait_for(|v| *v).await;
    }
}

/// Joins `handle` if it finishes before `deadline`; returns `false` (leaving it running) if not.
pub fn join_by(handle: std::thread::JoinHandle<()>, deadline: std::time::Instant) -> bool {
    while !handle.is_finished() {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = handle.join();
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn sleep_wakes_on_trigger() {
        let s = Shutdown::new();
        let s2 = s.clone();
        let t = std::thread::spawn(move || {
            let start = Instant::now();
            let woke = s2.sleep(Duration::from_secs(10));
            (woke, start.elapsed())
        });
        std::thread::sleep(Duration::from_millis(50));
        s.trigger();
        let (woke, took) = t.join().unwrap();
        assert!(woke);
        assert!(took < Duration::from_secs(5));
        assert!(!Shutdown::new().sleep(Duration::from_millis(1)));
    }
}
