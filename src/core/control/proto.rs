//! Just enough protobuf for the handful of Device OS control messages flashline uses
//! (field numbers from @particle/device-os-protobuf, see docs/particle-facts.md §2).
//!
//! Hand-written rather than prost: six tiny messages, and prost-build would need `protoc`
//! and a build script on every machine that builds flashline. Decoding never panics.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed protobuf: {0}")]
pub struct ProtoError(pub &'static str);

/// Fields in wire order; unknown fields are kept for the caller to ignore.
pub fn decode(mut b: &[u8]) -> Result<Vec<(u32, Value<'_>)>, ProtoError> {
    let mut fields = Vec::new();
    while !b.is_empty() {
        let key = read_varint(&mut b)?;
        let field = u32::try_from(key >> 3).map_err(|_| ProtoError("field number too large"))?;
        let value = match key & 7 {
            0 => Value::Varint(read_varint(&mut b)?),
            1 => Value::Fixed64(u64::from_le_bytes(
                take(&mut b, 8)?
                    .try_into()
                    .map_err(|_| ProtoError("fixed64"))?,
            )),
            2 => {
                let len = usize::try_from(read_varint(&mut b)?)
                    .map_err(|_| ProtoError("length too large"))?;
                Value::Bytes(take(&mut b, len)?)
            }
            5 => Value::Fixed32(u32::from_le_bytes(
                take(&mut b, 4)?
                    .try_into()
                    .map_err(|_| ProtoError("fixed32"))?,
            )),
            _ => return Err(ProtoError("unsupported wire type")),
        };
        fields.push((field, value));
    }
    Ok(fields)
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], ProtoError> {
    if b.len() < n {
        return Err(ProtoError("truncated"));
    }
    let (head, tail) = b.split_at(n);
    *b = tail;
    Ok(head)
}

fn read_varint(b: &mut &[u8]) -> Result<u64, ProtoError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *take(b, 1)?.first().ok_or(ProtoError("truncated varint"))?;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(ProtoError("varint too long"))
}

/// The first value of `field` as an integer (varint or fixed), 0 when absent (proto3 default).
pub fn uint(fields: &[(u32, Value<'_>)], field: u32) -> u64 {
    fields
        .iter()
        .find_map(|(f, v)| match v {
            Value::Varint(x) | Value::Fixed64(x) if *f == field => Some(*x),
            Value::Fixed32(x) if *f == field => Some(u64::from(*x)),
            _ => None,
        })
        .unwrap_or(0)
}

pub fn bytes<'a>(fields: &[(u32, Value<'a>)], field: u32) -> &'a [u8] {
    repeated(fields, field).next().unwrap_or_default()
}

pub fn string(fields: &[(u32, Value<'_>)], field: u32) -> Result<String, ProtoError> {
    String::from_utf8(bytes(fields, field).to_vec()).map_err(|_| ProtoError("string is not UTF-8"))
}

pub fn repeated<'a, 'f>(
    fields: &'f [(u32, Value<'a>)],
    field: u32,
) -> impl Iterator<Item = &'a [u8]> + 'f {
    fields.iter().filter_map(move |(f, v)| match v {
        Value::Bytes(b) if *f == field => Some(*b),
        _ => None,
    })
}

/// A message being encoded.
#[derive(Debug, Default, Clone)]
pub struct Encoder(Vec<u8>);

impl Encoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn uint(mut self, field: u32, v: u64) -> Self {
        if v != 0 {
            write_varint(&mut self.0, u64::from(field) << 3);
            write_varint(&mut self.0, v);
        }
        self
    }

    /// A fixed32 field (wire type 5), written even when 0: Device OS's nanopb encodes
    /// `checked_flags`/`passed_flags` this way (describe.pb.h FIXED32 fields).
    pub fn fixed32(mut self, field: u32, v: u32) -> Self {
        write_varint(&mut self.0, (u64::from(field) << 3) | 5);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn bytes(mut self, field: u32, v: &[u8]) -> Self {
        write_varint(&mut self.0, (u64::from(field) << 3) | 2);
        write_varint(&mut self.0, v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.0
    }
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_nested_messages() {
        let inner = Encoder::new().uint(1, 2).uint(3, 1502).finish();
        let msg = Encoder::new()
            .bytes(1, &inner)
            .bytes(1, &inner)
            .bytes(2, b"x")
            .uint(9, 300)
            .finish();
        let fields = decode(&msg).unwrap();
        assert_eq!(repeated(&fields, 1).count(), 2);
        assert_eq!(uint(&decode(bytes(&fields, 1)).unwrap(), 3), 1502);
        assert_eq!(uint(&fields, 9), 300);
        assert_eq!(uint(&fields, 42), 0);
    }

    #[test]
    fn truncation_is_an_error() {
        let msg = Encoder::new().bytes(1, b"hello").finish();
        assert!(decode(&msg[..msg.len() - 1]).is_err());
        assert!(decode(&[0x80]).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(fields) = decode(&bytes) {
                let _ = uint(&fields, 1);
                let _ = string(&fields, 1);
            }
        }
    }
}
