//! Memory: where the process's large blocks come from, and glibc's settings for the rest.
//!
//! The daemon's memory is mostly two things: the pose models' weights (28.4 MB in f32,
//! allocated once at start-up) and the activations tract allocates afresh on every model run
//! (~120 MB a landmark run in blocks of 0.1–4 MB, of which at most 5.5 MB are alive at once).
//! In glibc's heap the two interleaved with loading's leftovers, and the heap settled ~10 MB
//! above what was in use, at a level that differed from run to run (`docs/benchmarks.md`,
//! Memory). Mapping every block with `mmap` and unmapping it when freed costs a page fault
//! per 4 KiB at every run instead (landmark runs 2.5× slower).
//!
//! [`Global`] (the process's global allocator, set in `main.rs`) therefore serves blocks of
//! [`LARGE`] bytes and more from their own mappings, and keeps freed ones for reuse: the
//! smallest cached block that fits is split, and blocks freed side by side are joined again.
//! A model runs the same allocations in the same order every time, so from the second run on
//! its activations come from cached blocks, already paged in: no fault, and the cache holds
//! about the run's peak. Blocks nobody asked for within [`MAX_AGE`] large frees (an upload's
//! decoded frames, say) are unmapped, and the cache never holds more than [`CACHE_CAP`]
//! bytes. While a model loads ([`Uncached`]), freed blocks are unmapped at once: loading frees
//! blocks no run asks for (each weight's bytes as read from the file, the weights before
//! packing).
//! Smaller blocks go to glibc's allocator, tuned by [`tune_glibc`].
//!
//! The code that only runs at start-up and while the models load is given back by
//! [`release_code`], which the daemon calls before and after loading, and once the first
//! frame has been analysed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Blocks of this many bytes or more are mapped (and cached) here; smaller ones are glibc's.
pub const LARGE: usize = 64 << 10;
/// At most this many bytes of freed large blocks are kept for reuse.
pub const CACHE_CAP: usize = 16 << 20;
/// A cached block is unmapped once this many large blocks have been freed after it.
pub const MAX_AGE: u64 = 8192;
/// Cached blocks at most (more are unmapped when freed).
const SLOTS: usize = 512;
const PAGE: usize = 4096;

/// One cached block: its length in bytes (a whole number of pages), where it is mapped, and
/// the free count when it came back.
#[derive(Clone, Copy)]
struct Slot {
    len: usize,
    ptr: *mut u8,
    freed_at: u64,
}

/// Freed large blocks waiting to be reused.
struct Cache {
    slots: [Slot; SLOTS],
    used: usize,
    bytes: usize,
    frees: u64,
}

// SAFETY: the pointers are mappings owned by the cache, handed out to one caller at a time.
unsafe impl Send for Cache {}

const EMPTY: Slot = Slot {
    len: 0,
    ptr: ptr::null_mut(),
    freed_at: 0,
};

/// The process's allocator ([`Global`] forwards to it).
pub static ALLOCATOR: Allocator = Allocator::new();

/// Set as `#[global_allocator]` in `main.rs`: [`ALLOCATOR`].
pub struct Global;

// SAFETY: forwards every call unchanged to ALLOCATOR, a GlobalAlloc.
unsafe impl GlobalAlloc for Global {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { ALLOCATOR.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { ALLOCATOR.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { ALLOCATOR.dealloc(p, layout) }
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe { ALLOCATOR.realloc(p, layout, new_size) }
    }
}

/// While one lives, [`ALLOCATOR`] keeps no freed block; dropped, it empties the cache and
/// hands glibc's free memory back to the system. Held while a model loads.
pub struct Uncached(());

impl Uncached {
    pub fn new() -> Self {
        ALLOCATOR.uncached.fetch_add(1, Ordering::SeqCst);
        ALLOCATOR.trim();
        Uncached(())
    }
}

impl Default for Uncached {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Uncached {
    fn drop(&mut self) {
        ALLOCATOR.uncached.fetch_sub(1, Ordering::SeqCst);
        ALLOCATOR.trim();
        // SAFETY: malloc_trim only releases free heap memory; it is safe to call at any time.
        unsafe { libc::malloc_trim(0) };
    }
}

/// Large blocks mapped and cached here, the rest glibc's.
pub struct Allocator {
    cache: Mutex<Cache>,
    /// Live [`Uncached`] guards (of [`ALLOCATOR`]); while any, freed blocks are unmapped.
    uncached: AtomicUsize,
}

impl Allocator {
    pub const fn new() -> Self {
        Self {
            cache: Mutex::new(Cache {
                slots: [EMPTY; SLOTS],
                used: 0,
                bytes: 0,
                frees: 0,
            }),
            uncached: AtomicUsize::new(0),
        }
    }

    /// Bytes of freed large blocks held for reuse now.
    pub fn cached_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Unmaps every cached block (after loading models, say: nothing will ask for those sizes).
    pub fn trim(&self) {
        let mut c = self.lock();
        for s in &c.slots[..c.used] {
            unmap(s.ptr, s.len);
        }
        c.used = 0;
        c.bytes = 0;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // Nothing panics while the lock is held; a poisoned cache is still consistent.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `len` bytes from the cache, if a cached block is that long or longer: the front of the
    /// smallest such block (the rest stays cached).
    fn take(&self, len: usize) -> *mut u8 {
        let mut c = self.lock();
        let used = c.used;
        // The newest of the smallest: the block freed last is the likeliest in the CPU's caches,
        // and older ones are left to age out.
        let best = c.slots[..used]
            .iter()
            .enumerate()
            .rev()
            .filter(|(_, s)| s.len >= len)
            .min_by_key(|(_, s)| s.len)
            .map(|(i, _)| i);
        let Some(i) = best else {
            return ptr::null_mut();
        };
        let s = c.slots[i];
        c.bytes -= len;
        if s.len == len {
            c.slots.copy_within(i + 1..used, i);
            c.used -= 1;
        } else {
            // SAFETY: inside the cached block, which is longer than `len`.
            c.slots[i].ptr = unsafe { s.ptr.add(len) };
            c.slots[i].len -= len;
        }
        s.ptr
    }

    /// Keeps a freed block for reuse (joined with cached blocks on either side of it), or
    /// unmaps it; unmaps blocks that have waited too long.
    fn give_back(&self, p: *mut u8, len: usize) {
        if len > CACHE_CAP || self.uncached.load(Ordering::Relaxed) > 0 {
            unmap(p, len);
            return;
        }
        let mut stale: [Slot; 8] = [EMPTY; 8];
        let mut n_stale = 0;
        let (mut p, mut len) = (p, len);
        let keep = {
            let mut c = self.lock();
            c.frees += 1;
            let now = c.frees;
            // Cached neighbours join it: memory split off one mapping, or adjacent mappings
            // (all anonymous, private and ours: one range to reuse or unmap).
            let mut i = 0;
            while i < c.used {
                let s = c.slots[i];
                let before = s.ptr.wrapping_add(s.len) == p;
                let after = p.wrapping_add(len) == s.ptr;
                if before || after {
                    if before {
                        p = s.ptr;
                    }
                    len += s.len;
                    let used = c.used;
                    c.slots.copy_within(i + 1..used, i);
                    c.used -= 1;
                    c.bytes -= s.len;
                } else {
                    i += 1;
                }
            }
            // Joined, it may be more than the cache may hold: then it goes, and nothing else.
            if len > CACHE_CAP {
                drop(c);
                unmap(p, len);
                return;
            }
            // The oldest block leaves when it is too old, or to make room (a few per free).
            while c.used > 0 && n_stale < stale.len() {
                let oldest = c.slots[0];
                let full = c.used == SLOTS || c.bytes + len > CACHE_CAP;
                if !full && now - oldest.freed_at <= MAX_AGE {
                    break;
                }
                let used = c.used;
                c.slots.copy_within(1..used, 0);
                c.used -= 1;
                c.bytes -= oldest.len;
                stale[n_stale] = oldest;
                n_stale += 1;
            }
            let fits = c.used < SLOTS && c.bytes + len <= CACHE_CAP;
            if fits {
                let i = c.used;
                c.slots[i] = Slot {
                    len,
                    ptr: p,
                    freed_at: now,
                };
                c.used += 1;
                c.bytes += len;
            }
            fits
        };
        // Unmapped outside the lock: munmap can take a while for large blocks.
        for s in &stale[..n_stale] {
            unmap(s.ptr, s.len);
        }
        if !keep {
            unmap(p, len);
        }
    }
}

impl Default for Allocator {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether a block of this layout is served here (large, and page alignment is enough).
fn is_large(layout: &Layout) -> bool {
    layout.size() >= LARGE && layout.align() <= PAGE
}

fn pages(size: usize) -> usize {
    size.div_ceil(PAGE) * PAGE
}

fn map(len: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping; no existing memory is touched.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        ptr::null_mut()
    } else {
        p.cast()
    }
}

fn unmap(p: *mut u8, len: usize) {
    // SAFETY: `p` is a mapping of `len` bytes made by `map` and no longer handed out.
    unsafe { libc::munmap(p.cast(), len) };
}

// SAFETY: large blocks are fresh or cached anonymous mappings of at least the size asked,
// page-aligned (is_large admits alignments up to a page), each handed to one caller until it
// is freed; everything else is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !is_large(&layout) {
            return unsafe { System.alloc(layout) };
        }
        let len = pages(layout.size());
        let p = self.take(len);
        if p.is_null() { map(len) } else { p }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !is_large(&layout) {
            return unsafe { System.alloc_zeroed(layout) };
        }
        let len = pages(layout.size());
        let p = self.take(len);
        if p.is_null() {
            return map(len); // fresh mappings are zero
        }
        // SAFETY: the cached block is `len` bytes, owned by this caller now.
        unsafe { ptr::write_bytes(p, 0, layout.size()) };
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        if is_large(&layout) {
            self.give_back(p, pages(layout.size()));
        } else {
            unsafe { System.dealloc(p, layout) }
        }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY (for the layout): GlobalAlloc's contract gives a valid new size for this align.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (is_large(&layout), is_large(&new_layout)) {
            (false, false) => unsafe { System.realloc(p, layout, new_size) },
            (true, true) if pages(layout.size()) == pages(new_size) => p,
            _ => {
                let q = unsafe { self.alloc(new_layout) };
                if !q.is_null() {
                    // SAFETY: both blocks hold at least the smaller size; they do not overlap.
                    unsafe {
                        ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
                        self.dealloc(p, layout);
                    }
                }
                q
            }
        }
    }
}

/// glibc's allocator, set for a long-running process that runs models on every frame; it
/// serves the blocks under [`LARGE`], and the C libraries' blocks of every size (GStreamer's
/// frames: 0.9 MB at 640×480).
///
/// * Arenas: glibc gives every thread that allocates its own arena; GStreamer, tokio and the
///   workers together would hold tens of MB in half-used arenas. Two are plenty here.
/// * Thresholds: by default glibc serves blocks over 128 KiB with `mmap` and raises that
///   threshold to the size of each such block freed later, up to its maximum (32 MiB on
///   64-bit). Mapped and unmapped at every frame, blocks cost page faults (when all of
///   tract's activations went that way, 13 ms landmark runs took 40 ms); left dynamic, the
///   threshold rises in steps whenever a rarer, larger block is freed, and RSS stepped up by
///   4–16 MB at a random moment minutes into a run. Fixed where the dynamic rule ends up (and
///   the heap-trim threshold at 2×, as glibc would), the heap is in its steady state from the
///   first frames on.
/// * 32-bit targets (armv7): glibc caps the threshold at 512 KiB there, so `mmap` is turned
///   off instead, in a single arena: the main heap grows with `brk`, which has no such cap.
///
/// # Safety
/// Call before any other thread starts.
pub unsafe fn tune_glibc() {
    // SAFETY: mallopt only tunes the allocator; the caller guarantees no other thread runs.
    unsafe {
        #[cfg(target_pointer_width = "64")]
        {
            const MMAP_THRESHOLD: libc::c_int = 32 << 20; // glibc's maximum on 64-bit
            libc::mallopt(libc::M_ARENA_MAX, 2);
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD);
        }
        #[cfg(not(target_pointer_width = "64"))]
        {
            libc::mallopt(libc::M_ARENA_MAX, 1);
            libc::mallopt(libc::M_MMAP_MAX, 0);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
        }
    }
}

/// Takes the code and read-only data of the executable and of the libraries loaded with it
/// out of the process's memory (`madvise(MADV_DONTNEED)` on their segments that are never
/// written); returns how many bytes were advised. The pages stay in the kernel's page cache,
/// where the kernel can drop them when memory is short, and a page that runs again is mapped
/// back from there (or read from the disk) on its next use.
///
/// Start-up and model loading run code that never runs again: reading the configuration,
/// tract's parsing and optimisation, setting up GStreamer's pipelines. It stayed mapped,
/// counted in the daemon's memory for its whole life: 18 MB of the binary was resident while
/// the frame loop used ~2 MB of it (`docs/benchmarks.md`, Memory). The daemon calls this
/// before it loads the models, after, and once the first frame has been analysed, so no
/// step's code stays resident while the next one runs.
///
/// Only segments without write permission: they hold exactly the file's bytes, so dropping and
/// mapping them again changes nothing (relocated read-only data, RELRO, lies in a writable
/// segment and is left alone). Objects with text relocations, whose code was written to, and
/// the kernel's vDSO are skipped. The advice is given while the dynamic loader's list is held,
/// so no library can be unloaded (and its addresses reused) in between. `MADV_DONTNEED` rather
/// than `MADV_PAGEOUT`: the kernel pages out a file's pages only for a process that could
/// write the file, and the service runs as a user that cannot write its binary.
pub fn release_code() -> usize {
    let mut advised = 0;
    for_each_code_segment(&mut |start, len| {
        // SAFETY: whole pages of a loaded object's segment that is mapped read-only and never
        // written (see `for_each_code_segment`); dropping them loses nothing.
        if unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED) } == 0 {
            advised += len;
        }
    });
    advised
}

/// Calls `f(start, length)`, in whole pages, for every loaded segment without write permission
/// of the executable and its libraries, except the vDSO's and those of objects with text
/// relocations, while the dynamic loader's list of objects is held.
fn for_each_code_segment(f: &mut dyn FnMut(usize, usize)) {
    unsafe extern "C" fn each_object(
        info: *mut libc::dl_phdr_info,
        _size: libc::size_t,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: glibc passes a valid `info` whose `dlpi_phnum` headers (and dynamic section)
        // are mapped, and `data` is the closure `for_each_code_segment` passed in.
        unsafe {
            let info = &*info;
            let f = &mut *(data as *mut &mut dyn FnMut(usize, usize));
            let page = libc::sysconf(libc::_SC_PAGESIZE) as usize;
            let vdso = libc::getauxval(libc::AT_SYSINFO_EHDR) as usize;
            if vdso != 0 && (info.dlpi_phdr as usize).wrapping_sub(vdso) < page {
                return 0;
            }
            let headers = std::slice::from_raw_parts(info.dlpi_phdr, info.dlpi_phnum as usize);
            let bias = info.dlpi_addr as usize;
            if headers.iter().any(|h| {
                h.p_type == libc::PT_DYNAMIC && has_text_relocations(bias + h.p_vaddr as usize)
            }) {
                return 0;
            }
            for h in headers {
                if h.p_type == libc::PT_LOAD && h.p_flags & libc::PF_W == 0 {
                    let start = (bias + h.p_vaddr as usize).next_multiple_of(page);
                    let end = (bias + (h.p_vaddr + h.p_memsz) as usize) / page * page;
                    if end > start {
                        f(start, end - start);
                    }
                }
            }
        }
        0 // on to the next object
    }
    let mut f = f;
    // SAFETY: the callback only reads the headers and calls `f`.
    unsafe {
        libc::dl_iterate_phdr(
            Some(each_object),
            &mut f as *mut &mut dyn FnMut(usize, usize) as *mut libc::c_void,
        )
    };
}

/// Whether the dynamic section at `dynamic` asks for text relocations (`DT_TEXTREL`, or
/// `DF_TEXTREL` in `DT_FLAGS`).
///
/// # Safety
/// `dynamic` must be the address of a loaded object's mapped dynamic section.
unsafe fn has_text_relocations(dynamic: usize) -> bool {
    const DT_NULL: usize = 0;
    const DT_TEXTREL: usize = 22;
    const DT_FLAGS: usize = 30;
    const DF_TEXTREL: usize = 4;
    // Each entry is a tag and a value, both of the pointer's width (Elf32_Dyn, Elf64_Dyn).
    let mut entry = dynamic as *const [usize; 2];
    loop {
        // SAFETY: the dynamic section ends with a DT_NULL entry.
        let [tag, value] = unsafe { *entry };
        match tag {
            DT_NULL => return false,
            DT_TEXTREL => return true,
            DT_FLAGS if value & DF_TEXTREL != 0 => return true,
            _ => {}
        }
        entry = unsafe { entry.add(1) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    /// Whether a `/proc/self/maps` (or `smaps`) line maps memory overlapping
    /// `start..start + len`; `None` for a line that is not a mapping's first.
    fn overlaps(line: &str, start: usize, len: usize) -> Option<bool> {
        let (a, b) = line.split_whitespace().next()?.split_once('-')?;
        let (a, b) = (
            usize::from_str_radix(a, 16).ok()?,
            usize::from_str_radix(b, 16).ok()?,
        );
        Some(a < start + len && start < b)
    }

    /// What `smaps` says of the memory at `start..start + len`: (resident, anonymous) bytes
    /// of the mappings overlapping it.
    fn smaps_of(start: usize, len: usize) -> (usize, usize) {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let (mut inside, mut rss, mut anon) = (false, 0, 0);
        for line in smaps.lines() {
            if let Some(o) = overlaps(line, start, len) {
                inside = o;
            } else if inside {
                let kb = || {
                    line.split_whitespace()
                        .nth(1)
                        .unwrap()
                        .parse::<usize>()
                        .unwrap()
                        << 10
                };
                if line.starts_with("Rss:") {
                    rss += kb();
                } else if line.starts_with("Anonymous:") {
                    anon += kb();
                }
            }
        }
        (rss, anon)
    }

    fn code_segments() -> Vec<(usize, usize)> {
        let mut segments = Vec::new();
        for_each_code_segment(&mut |start, len| segments.push((start, len)));
        segments
    }

    /// The segments released are code and read-only data as the kernel maps them: files mapped
    /// without write permission, the executable's code among them, holding no page the process
    /// has written (no anonymous page), so dropping them loses nothing; the vDSO is not among
    /// them.
    #[test]
    fn code_segments_are_unwritten_file_mappings() {
        let segments = code_segments();
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let exe = exe.to_str().unwrap();
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let (mut executable, mut libraries) = (false, 0);
        for &(start, len) in &segments {
            let (_, anon) = smaps_of(start, len);
            assert_eq!(anon, 0, "written pages in {start:#x}+{len:#x}");
            let covering: Vec<&str> = maps
                .lines()
                .filter(|l| overlaps(l, start, len) == Some(true))
                .collect();
            assert!(!covering.is_empty());
            for l in covering {
                let perms = l.split_whitespace().nth(1).unwrap();
                let file = l.split_whitespace().nth(5).unwrap_or("");
                assert!(!perms.contains('w'), "{l}");
                assert!(file.starts_with('/'), "not a file: {l}");
                executable |= file == exe && perms.contains('x');
                libraries += usize::from(file.contains(".so"));
            }
        }
        assert!(
            executable,
            "the executable's code is not among {segments:x?}"
        );
        assert!(libraries > 0, "no library among {segments:x?}");
    }

    /// Releasing takes the code out of the process's memory, and the code runs on.
    #[test]
    fn releasing_the_code_takes_it_out_of_memory_and_it_runs_on() {
        let segments = code_segments();
        let resident = || {
            segments
                .iter()
                .map(|&(s, l)| smaps_of(s, l).0)
                .sum::<usize>()
        };
        let before = resident();
        let advised = release_code();
        let after = resident();
        assert_eq!(advised, segments.iter().map(|&(_, l)| l).sum::<usize>());
        assert!(
            after < before,
            "{after} bytes resident after release, {before} before"
        );
        let a = Allocator::new();
        unsafe {
            let p = a.alloc(layout(1 << 20, 8));
            assert!(!p.is_null());
            a.dealloc(p, layout(1 << 20, 8));
        }
    }

    #[test]
    fn a_freed_large_block_is_reused_for_the_same_size_in_pages() {
        let a = Allocator::new();
        unsafe {
            let l = layout(300_000, 64);
            let p = a.alloc(l);
            assert!(!p.is_null());
            assert_eq!(p as usize % PAGE, 0);
            p.write_bytes(7, l.size());
            a.dealloc(p, l);
            assert_eq!(a.cached_bytes(), pages(300_000));
            // A slightly different size with the same number of pages gets the same block.
            let l2 = layout(300_000 - 100, 16);
            let q = a.alloc(l2);
            assert_eq!(q, p);
            assert_eq!(*q.add(5), 7, "a reused block is not cleared by alloc");
            assert_eq!(a.cached_bytes(), 0);
            // Another size is a new mapping.
            let l3 = layout(500_000, 16);
            let r = a.alloc(l3);
            assert_ne!(r, q);
            a.dealloc(q, l2);
            a.dealloc(r, l3);
            assert_eq!(a.cached_bytes(), pages(300_000) + pages(500_000));
            a.trim();
            assert_eq!(a.cached_bytes(), 0);
        }
    }

    #[test]
    fn alloc_zeroed_clears_a_reused_block() {
        let a = Allocator::new();
        unsafe {
            let l = layout(LARGE * 3, 8);
            let p = a.alloc(l);
            p.write_bytes(0xAB, l.size());
            a.dealloc(p, l);
            let q = a.alloc_zeroed(l);
            assert_eq!(q, p);
            assert!(
                std::slice::from_raw_parts(q, l.size())
                    .iter()
                    .all(|&b| b == 0)
            );
            a.dealloc(q, l);
            a.trim();
        }
    }

    #[test]
    fn small_and_over_aligned_blocks_go_to_the_system_allocator() {
        let a = Allocator::new();
        unsafe {
            for l in [layout(LARGE - 1, 8), layout(LARGE * 2, 2 * PAGE)] {
                let p = a.alloc(l);
                assert!(!p.is_null());
                assert_eq!(p as usize % l.align(), 0);
                p.write_bytes(1, l.size());
                a.dealloc(p, l);
                assert_eq!(a.cached_bytes(), 0, "{l:?} was cached");
            }
        }
    }

    #[test]
    fn realloc_keeps_the_contents_across_small_and_large() {
        let a = Allocator::new();
        unsafe {
            let mut l = layout(1000, 8);
            let mut p = a.alloc(l);
            for i in 0..l.size() {
                *p.add(i) = (i % 251) as u8;
            }
            // small -> large -> larger -> same pages -> small
            for size in [LARGE + 10, 3 * LARGE, 3 * LARGE - 5, 900] {
                p = a.realloc(p, l, size);
                assert!(!p.is_null());
                l = layout(size, 8);
                for i in 0..900 {
                    assert_eq!(
                        *p.add(i),
                        (i % 251) as u8,
                        "byte {i} after growing to {size}"
                    );
                }
            }
            a.dealloc(p, l);
            a.trim();
        }
    }

    /// `n` blocks of `len` bytes with a gap of `len` after each, so no two are adjacent.
    fn apart(n: usize, len: usize) -> Vec<*mut u8> {
        let region = map(2 * n * len);
        assert!(!region.is_null());
        (0..n).map(|i| region.wrapping_add(2 * i * len)).collect()
    }

    #[test]
    fn the_cache_is_bounded_in_bytes_and_slots() {
        let a = Allocator::new();
        // More bytes than the cap, freed one by one: at most CACHE_CAP bytes are kept.
        let len = 4 << 20;
        let blocks = apart(CACHE_CAP / len + 3, len);
        for &p in &blocks {
            a.give_back(p, len);
            assert!(a.cached_bytes() <= CACHE_CAP);
        }
        assert_eq!(
            a.cached_bytes(),
            CACHE_CAP,
            "the newest blocks up to the cap are kept"
        );
        a.trim();
        for p in &blocks {
            unmap(p.wrapping_add(len), len); // the gaps
        }
        // More blocks than slots (small ones, split off a larger block, say).
        let blocks = apart(SLOTS + 20, PAGE);
        for &p in &blocks {
            a.give_back(p, PAGE);
        }
        assert_eq!(a.lock().used, SLOTS);
        assert_eq!(a.cached_bytes(), SLOTS * PAGE);
        a.trim();
        for p in &blocks {
            unmap(p.wrapping_add(PAGE), PAGE);
        }
    }

    #[test]
    fn a_block_nobody_asks_for_is_unmapped_after_max_age_frees() {
        let a = Allocator::new();
        let len = LARGE;
        let b = apart(2, len);
        let (odd, busy) = (b[0], b[1]);
        a.give_back(odd, len);
        a.give_back(busy, len);
        for _ in 0..MAX_AGE {
            let p = a.take(len);
            assert_eq!(p, busy, "the newest block of the size is reused");
            a.give_back(p, len);
        }
        assert_eq!(a.lock().used, 1, "the block freed first is gone");
        assert_eq!(a.take(len), busy);
        assert!(a.take(len).is_null());
        unmap(busy, len);
        unmap(odd.wrapping_add(len), len);
        unmap(busy.wrapping_add(len), len);
    }

    #[test]
    fn a_joined_block_over_the_cap_is_unmapped_without_evicting_others() {
        let a = Allocator::new();
        // One mapping: two halves side by side, a gap, then a small block.
        let half = CACHE_CAP / 2 + PAGE;
        let region = map(2 * half + 2 * LARGE);
        let small = region.wrapping_add(2 * half + LARGE);
        a.give_back(small, LARGE);
        a.give_back(region, half);
        assert_eq!(a.cached_bytes(), LARGE + half);
        // Its neighbour comes back: together they are over the cap.
        a.give_back(region.wrapping_add(half), half);
        assert_eq!(a.cached_bytes(), LARGE, "the small block stays cached");
        assert_eq!(a.take(LARGE), small);
        unmap(small, LARGE);
        unmap(region.wrapping_add(2 * half), LARGE); // the gap
    }

    #[test]
    fn blocks_are_split_to_fit_and_joined_when_freed_side_by_side() {
        let a = Allocator::new();
        let region = map(8 * PAGE);
        a.give_back(region, 8 * PAGE);
        // The smallest block that fits is split: the front is handed out, the rest kept.
        let p = a.take(3 * PAGE);
        assert_eq!(p, region);
        let q = a.take(5 * PAGE);
        assert_eq!(q, region.wrapping_add(3 * PAGE));
        assert!(a.take(PAGE).is_null());
        // Freed side by side, they are one block again.
        a.give_back(q, 5 * PAGE);
        a.give_back(p, 3 * PAGE);
        assert_eq!(a.lock().used, 1);
        assert_eq!(a.take(8 * PAGE), region);
        unmap(region, 8 * PAGE);
    }
}
