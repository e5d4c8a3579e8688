//! Test memory that faults on the first byte past it, for kernels that must read nothing past
//! their inputs.

/// `len` floats ending exactly where a page the process may not read begins, so that any
/// lane loaded past the last one faults; unmapped on drop.
pub(crate) struct Guarded {
    base: *mut libc::c_void,
    size: usize,
    pub(crate) data: *mut f32,
}

impl Guarded {
    pub(crate) fn new(len: usize) -> Guarded {
        let page = 4096usize;
        let pages = (len * 4).div_ceil(page) + 1;
        unsafe {
            let base = libc::mmap(
                std::ptr::null_mut(),
                pages * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(base, libc::MAP_FAILED);
            let guard = (base as *mut u8).add((pages - 1) * page);
            assert_eq!(libc::mprotect(guard.cast(), page, libc::PROT_NONE), 0);
            Guarded { base, size: pages * page, data: (guard as *mut f32).sub(len) }
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        unsafe { libc::munmap(self.base, self.size) };
    }
}
