//! MD5 through the system's libcrypto (OpenSSL 3, `libcrypto.so.3`), loaded with `dlopen` at
//! run time as libheif and ONNX Runtime are: nothing to install to build spoor, and where the
//! library is missing the `md-5` crate does the same job.
//!
//! Why: MD5 was the largest part of a scan's CPU on a tree of files (36 % of samples, perf,
//! scripts/bench-hash.sh), and `md-5` has no assembly on x86-64: 642 MB/s a core here, against
//! 762 MB/s for OpenSSL's `md5_block_asm_data_order` (`openssl speed -evp md5`, same machine,
//! same run). The `md5-asm` crate (through md-5 0.10) measured 618 MB/s, no better.
//!
//! The low-level `MD5_Init/Update/Final` functions are used, deprecated in OpenSSL 3 but
//! exported by every build that has MD5: they work on a plain struct the caller owns (no
//! allocation per file, unlike an `EVP_MD_CTX`), and run the same assembly. `SPOOR_MD5=rust`
//! forces the crate (for comparing the two in one run).

use std::ffi::c_int;
use std::sync::OnceLock;

/// OpenSSL's `MD5_CTX` is 92 bytes (`A..D`, `Nl`, `Nh`, `data[16]`, `num`, all 32-bit); this
/// is larger and 8-byte aligned, so any layout of those fields fits.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
pub struct Context([u8; 128]);

type Init = unsafe extern "C" fn(*mut Context) -> c_int;
type Update = unsafe extern "C" fn(*mut Context, *const u8, usize) -> c_int;
type Final = unsafe extern "C" fn(*mut u8, *mut Context) -> c_int;

struct LibCrypto {
    init: Init,
    update: Update,
    finalize: Final,
    _lib: libloading::Library,
}

const CANDIDATES: &[&str] = &["libcrypto.so.3", "libcrypto.3.dylib"];

fn library() -> Option<&'static LibCrypto> {
    static LIB: OnceLock<Option<LibCrypto>> = OnceLock::new();
    LIB.get_or_init(|| {
        if std::env::var("SPOOR_MD5").is_ok_and(|v| v == "rust") {
            return None;
        }
        CANDIDATES.iter().find_map(|name| {
            // SAFETY: loading libcrypto runs its initialisers, which set up its own tables.
            let lib = unsafe { libloading::Library::new(name) }.ok()?;
            // SAFETY: the symbols are declared with OpenSSL's signatures (openssl/md5.h, the
            // same since 0.9.8); the Library lives in the struct as long as the pointers.
            unsafe {
                let init: Init = *lib.get(b"MD5_Init\0").ok()?;
                let update: Update = *lib.get(b"MD5_Update\0").ok()?;
                let finalize: Final = *lib.get(b"MD5_Final\0").ok()?;
                let known = known_answer(init, update, finalize);
                known.then_some(LibCrypto {
                    init,
                    update,
                    finalize,
                    _lib: lib,
                })
            }
        })
    })
    .as_ref()
}

/// The library's MD5 of "abc" must be RFC 1321's, or it is not used.
unsafe fn known_answer(init: Init, update: Update, finalize: Final) -> bool {
    let mut ctx = Context([0; 128]);
    let mut out = [0u8; 16];
    // SAFETY: ctx is larger than MD5_CTX and aligned; the input and output are in bounds.
    let ok = unsafe {
        init(&mut ctx) == 1
            && update(&mut ctx, b"abc".as_ptr(), 3) == 1
            && finalize(out.as_mut_ptr(), &mut ctx) == 1
    };
    ok && out
        == [
            0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0, 0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1,
            0x7f, 0x72,
        ]
}

/// What computes MD5 in this process: for the run record and `spoor bench`.
pub fn implementation() -> &'static str {
    if library().is_some() {
        "OpenSSL libcrypto (assembly), loaded at run time"
    } else {
        "md-5 crate (Rust)"
    }
}

/// An MD5 in progress: OpenSSL's when the library is there, else the crate's.
#[derive(Clone)]
pub enum Md5 {
    LibCrypto(Context),
    Crate(md5::Md5),
}

impl Default for Md5 {
    fn default() -> Md5 {
        match library() {
            Some(lib) => {
                let mut ctx = Context([0; 128]);
                // SAFETY: as in `known_answer`; MD5_Init cannot fail on a valid pointer.
                unsafe { (lib.init)(&mut ctx) };
                Md5::LibCrypto(ctx)
            }
            None => Md5::Crate(md5::Md5::default()),
        }
    }
}

impl Md5 {
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Md5::LibCrypto(ctx) => {
                if let Some(lib) = library() {
                    // SAFETY: the context was initialised by this library; the slice is valid.
                    unsafe { (lib.update)(ctx, data.as_ptr(), data.len()) };
                }
            }
            Md5::Crate(h) => md5::Digest::update(h, data),
        }
    }

    pub fn finalize(self) -> [u8; 16] {
        match self {
            Md5::LibCrypto(mut ctx) => {
                let mut out = [0u8; 16];
                if let Some(lib) = library() {
                    // SAFETY: as in `update`; the output buffer is 16 bytes.
                    unsafe { (lib.finalize)(out.as_mut_ptr(), &mut ctx) };
                }
                out
            }
            Md5::Crate(h) => md5::Digest::finalize(h).into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libcrypto_and_the_crate_agree_at_every_length_and_split() {
        let data: Vec<u8> = (0..70_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        if library().is_none() {
            eprintln!("SKIPPED: no libcrypto.so.3 here; the crate computes MD5");
            return;
        }
        for len in [
            0usize, 1, 55, 56, 63, 64, 65, 127, 128, 1000, 65_537, 70_000,
        ] {
            for split in [0, 1, 63, len / 2, len] {
                let split = split.min(len);
                let mut ours = Md5::default();
                assert!(matches!(ours, Md5::LibCrypto(_)));
                ours.update(&data[..split]);
                ours.update(&data[split..len]);
                let mut theirs = md5::Md5::default();
                md5::Digest::update(&mut theirs, &data[..len]);
                let want: [u8; 16] = md5::Digest::finalize(theirs).into();
                assert_eq!(ours.finalize(), want, "length {len}, split {split}");
            }
        }
    }
}
