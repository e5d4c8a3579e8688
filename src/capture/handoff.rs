//! The bounded hand-off between a capture thread and its worker: one slot, newest frame wins.
//!
//! Capture never waits for inference. If the worker has not taken the previous frame yet, the
//! new one replaces it and the replaced frame is counted as dropped.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

pub struct Slot<T> {
    inner: Mutex<Inner<T>>,
    cvar: Condvar,
}

struct Inner<T> {
    item: Option<T>,
    closed: bool,
}

/// What [`Slot::take`] found.
pub enum Take<T> {
    Item(T),
    /// Nothing arrived within the timeout.
    Empty,
    /// The producer closed the slot and nothing is left.
    Closed,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Slot<T> {
    pub fn new() -> Slot<T> {
        Slot {
            inner: Mutex::new(Inner {
                item: None,
                closed: false,
            }),
            cvar: Condvar::new(),
        }
    }

    /// Puts `item` in the slot; returns `true` if an untaken item was replaced (dropped).
    pub fn put(&self, item: T) -> bool {
        let replaced = {
            let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            g.item.replace(item).is_some()
        };
        self.cvar.notify_one();
        replaced
    }

    /// Takes the newest item, waiting up to `timeout` for one.
    pub fn take(&self, timeout: Duration) -> Take<T> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (mut g, _) = self
            .cvar
            .wait_timeout_while(g, timeout, |i| i.item.is_none() && !i.closed)
            .unwrap_or_else(|e| e.into_inner());
        match g.item.take() {
            Some(item) => Take::Item(item),
            None if g.closed => Take::Closed,
            None => Take::Empty,
        }
    }

    /// No more items will come; a waiting taker wakes.
    pub fn close(&self) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
        self.cvar.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn newest_wins_and_drops_are_reported() {
        let s = Slot::new();
        assert!(!s.put(1));
        assert!(s.put(2));
        assert!(s.put(3));
        assert!(matches!(s.take(Duration::ZERO), Take::Item(3)));
        assert!(matches!(s.take(Duration::from_millis(1)), Take::Empty));
        s.put(4);
        s.close();
        assert!(matches!(s.take(Duration::ZERO), Take::Item(4)));
        assert!(matches!(s.take(Duration::from_secs(5)), Take::Closed));
    }

    #[test]
    fn taker_wakes_on_put() {
        let s = Arc::new(Slot::new());
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.take(Duration::from_secs(10)));
        std::thread::sleep(Duration::from_millis(20));
        s.put(7u32);
        assert!(matches!(t.join().unwrap(), Take::Item(7)));
    }
}
