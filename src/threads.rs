//! Thread priorities. The cameras come first: capture and the per-camera workers run at the
//! normal priority, everything else that may be busy (the async runtime serving the API and
//! MQTT, request inference) lowers its own priority so that a flood of requests is served
//! with what the cameras leave.

/// Nice value of the async runtime's threads (the API's parsing and routing, MQTT).
pub const RUNTIME_NICE: i32 = 5;
/// Nice value of request inference (`/predict/*` on the blocking pool).
pub const REQUEST_NICE: i32 = 10;

/// Lowers the calling thread's CPU priority to `nice` (Linux: per-thread nice). Best effort:
/// it only ever lowers, so it needs no privilege, and a failure leaves the thread as it was.
pub fn lower_priority(nice: i32) {
    // SAFETY: getpriority/setpriority on our own thread id only change this thread's scheduling.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        *libc::__errno_location() = 0;
        let now = libc::getpriority(libc::PRIO_PROCESS, tid);
        if *libc::__errno_location() == 0 && now >= nice {
            return;
        }
        libc::setpriority(libc::PRIO_PROCESS, tid, nice);
    }
}

/// This thread's nice value.
#[cfg(test)]
fn current_nice() -> i32 {
    // SAFETY: as above, a query of our own thread.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::getpriority(libc::PRIO_PROCESS, tid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_is_only_ever_lowered() {
        std::thread::spawn(|| {
            let start = current_nice();
            lower_priority(start + 3);
            assert_eq!(current_nice(), start + 3);
            // Asking for a higher priority again does nothing.
            lower_priority(start);
            assert_eq!(current_nice(), start + 3);
        })
        .join()
        .unwrap();
    }
}
