//! Reading an ONNX file without holding its weights twice.
//!
//! tract's `model_for_path` decodes the whole file into a protobuf message, which copies every
//! weight into it, and then copies each weight again into a tensor while the message is still
//! alive: loading the 12 MB landmark model raised the daemon's peak memory by 24 MB for a
//! moment, the highest point of its life (`docs/benchmarks.md`, Memory). [`read_model`] reads
//! the message with every weight of [`EXTERNAL_MIN`] bytes or more left in the file and
//! marked as ONNX external data pointing back at the file itself, at the weight's offset; tract
//! then reads one weight at a time from the file into its tensor, so loading holds the tensors
//! and one weight's bytes, not the file's contents besides. The model parsed this way is the
//! same model, tensor for tensor (tested against `model_for_path`).
//!
//! Only the protobuf wire format is read here (ONNX's `ModelProto` → `graph` → `initializer`
//! → `raw_data`); everything else in the file is kept byte for byte. A file that already keeps
//! its weights elsewhere (external data) is read as it is.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use prost::Message;
use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::TractResult;
use tract_onnx::tract_core::internal::{TractErrorContext, bail, ensure};

/// Weights of this many bytes or more are left in the file and read one at a time.
pub const EXTERNAL_MIN: usize = 1024;

// Field numbers of onnx.proto3 that the reader looks into.
const MODEL_GRAPH: u32 = 7;
const GRAPH_INITIALIZER: u32 = 5;
const TENSOR_RAW_DATA: u32 = 9;
const TENSOR_EXTERNAL_DATA: u32 = 13;
const TENSOR_DATA_LOCATION: u32 = 14;
const DATA_LOCATION_EXTERNAL: u64 = 1;
const ENTRY_KEY: u32 = 1;
const ENTRY_VALUE: u32 = 2;

const VARINT: u32 = 0;
const I64: u32 = 1;
const LEN: u32 = 2;
const I32: u32 = 5;

/// Reads `path` as an ONNX model whose weights of [`EXTERNAL_MIN`] bytes or more stay in the
/// file as external data (location: the file's own name, offset and length of the weight's
/// bytes in it). Parse the result with the file's folder as the model directory and a data
/// resolver that reads files (not one that maps them whole).
pub fn read_model(path: &Path) -> TractResult<ModelProto> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{path:?} has no file name in UTF-8"))?;
    let file = File::open(path).with_context(|| format!("Opening {path:?}"))?;
    let len = file.metadata()?.len();
    let mut reader = Reader {
        inner: BufReader::new(file),
        pos: 0,
    };
    let bytes = rewrite_message(&mut reader, len, &Level::Model, name)
        .with_context(|| format!("Reading {path:?} as ONNX"))?;
    Ok(ModelProto::decode(bytes.as_slice())?)
}

/// Which message is being read, and so which of its fields are looked into.
enum Level {
    Model,
    Graph,
    Tensor,
}

/// A file read front to back, knowing where it is.
struct Reader {
    inner: BufReader<File>,
    pos: u64,
}

impl Reader {
    fn byte(&mut self) -> io::Result<u8> {
        let mut b = [0u8];
        self.inner.read_exact(&mut b)?;
        self.pos += 1;
        Ok(b[0])
    }

    fn varint(&mut self, out: Option<&mut Vec<u8>>) -> io::Result<u64> {
        let mut value = 0u64;
        let mut raw = [0u8; 10];
        for (i, slot) in raw.iter_mut().enumerate() {
            let b = self.byte()?;
            *slot = b;
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if let Some(out) = out {
                    out.extend_from_slice(&raw[..=i]);
                }
                return Ok(value);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "varint longer than 10 bytes",
        ))
    }

    fn copy(&mut self, n: u64, out: &mut Vec<u8>) -> io::Result<()> {
        let start = out.len();
        out.resize(start + n as usize, 0);
        self.inner.read_exact(&mut out[start..])?;
        self.pos += n;
        Ok(())
    }

    fn skip(&mut self, n: u64) -> io::Result<()> {
        self.inner.seek_relative(n as i64)?;
        self.pos += n;
        Ok(())
    }
}

/// Copies the message of `len` bytes at the reader's position, rewriting the initializers'
/// weights (at a tensor: leaving `raw_data` in the file and pointing at it instead).
fn rewrite_message(r: &mut Reader, len: u64, level: &Level, file: &str) -> TractResult<Vec<u8>> {
    let end = r.pos + len;
    let mut out = Vec::new();
    let mut weight: Option<(u64, u64)> = None;
    let mut already_external = false;
    while r.pos < end {
        let key = r.varint(None)?;
        let (field, wire) = ((key >> 3) as u32, (key & 7) as u32);
        match wire {
            VARINT => {
                put_varint(&mut out, key);
                r.varint(Some(&mut out))?;
            }
            I64 | I32 => {
                put_varint(&mut out, key);
                r.copy(if wire == I64 { 8 } else { 4 }, &mut out)?;
            }
            LEN => {
                let n = r.varint(None)?;
                ensure!(r.pos + n <= end, "field {field} runs past its message");
                let nested = match (level, field) {
                    (Level::Model, MODEL_GRAPH) => Some(Level::Graph),
                    (Level::Graph, GRAPH_INITIALIZER) => Some(Level::Tensor),
                    _ => None,
                };
                if let Some(nested) = nested {
                    let inner = rewrite_message(r, n, &nested, file)?;
                    put_varint(&mut out, key);
                    put_varint(&mut out, inner.len() as u64);
                    out.extend_from_slice(&inner);
                } else if matches!(level, Level::Tensor)
                    && field == TENSOR_RAW_DATA
                    && n as usize >= EXTERNAL_MIN
                {
                    weight = Some((r.pos, n));
                    r.skip(n)?;
                } else {
                    already_external |=
                        matches!(level, Level::Tensor) && field == TENSOR_EXTERNAL_DATA;
                    put_varint(&mut out, key);
                    put_varint(&mut out, n);
                    r.copy(n, &mut out)?;
                }
            }
            _ => bail!("unsupported protobuf wire type {wire} (field {field})"),
        }
    }
    ensure!(r.pos == end, "a field runs past its message");
    if let Some((offset, length)) = weight {
        ensure!(
            !already_external,
            "a tensor has both raw data and external data"
        );
        for (k, v) in [
            ("location", file.to_string()),
            ("offset", offset.to_string()),
            ("length", length.to_string()),
        ] {
            let mut entry = Vec::new();
            put_len(&mut entry, ENTRY_KEY, k.as_bytes());
            put_len(&mut entry, ENTRY_VALUE, v.as_bytes());
            put_len(&mut out, TENSOR_EXTERNAL_DATA, &entry);
        }
        put_varint(&mut out, u64::from(TENSOR_DATA_LOCATION << 3 | VARINT));
        put_varint(&mut out, DATA_LOCATION_EXTERNAL);
    }
    Ok(out)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_len(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    put_varint(out, u64::from(field << 3 | LEN));
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
    }

    /// Every large weight is left in the file, pointed at exactly, and everything else is as
    /// the file has it.
    #[test]
    fn large_weights_point_back_into_the_file_and_nothing_else_changes() {
        let path = models().join("pose_landmarks_lite.onnx");
        let bytes = std::fs::read(&path).unwrap();
        let whole = ModelProto::decode(bytes.as_slice()).unwrap();
        let lean = read_model(&path).unwrap();
        let (whole_graph, lean_graph) =
            (whole.graph.as_ref().unwrap(), lean.graph.as_ref().unwrap());
        assert_eq!(whole_graph.node, lean_graph.node);
        assert_eq!(whole_graph.initializer.len(), lean_graph.initializer.len());
        let mut moved = 0;
        for (w, l) in whole_graph.initializer.iter().zip(&lean_graph.initializer) {
            assert_eq!(
                (&w.name, &w.dims, w.data_type),
                (&l.name, &l.dims, l.data_type)
            );
            if w.raw_data.len() < EXTERNAL_MIN {
                assert_eq!(w, l);
                continue;
            }
            moved += 1;
            assert!(l.raw_data.is_empty());
            assert_eq!(l.data_location, Some(DATA_LOCATION_EXTERNAL as i32));
            let entry = |k: &str| {
                l.external_data
                    .iter()
                    .find(|e| e.key == k)
                    .map(|e| e.value.clone())
                    .unwrap()
            };
            assert_eq!(entry("location"), "pose_landmarks_lite.onnx");
            let offset: usize = entry("offset").parse().unwrap();
            let length: usize = entry("length").parse().unwrap();
            assert!(
                bytes[offset..offset + length] == w.raw_data[..],
                "{}: the bytes pointed at are not the weight",
                w.name
            );
        }
        assert!(moved > 50, "only {moved} weights were left in the file");
        let mut rest = lean.clone();
        rest.graph = None;
        let mut whole_rest = whole.clone();
        whole_rest.graph = None;
        assert_eq!(rest, whole_rest);
    }

    #[test]
    fn a_truncated_file_is_an_error() {
        let path = models().join("activity.onnx");
        let bytes = std::fs::read(&path).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cut = dir.path().join("cut.onnx");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        assert!(read_model(&cut).is_err());
    }
}
