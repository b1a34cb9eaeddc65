//! The key-file JSON format (also used by the environment variable):
//!
//! ```json
//! {"version":1,"active":"k2","keys":{"k1":"<64 hex>","k2":"<64 hex>"},
//!  "blind_index":{"id":"b1","key":"<64 hex>"}}
//! ```
//!
//! Hex strings are read into and written from zeroizing buffers. Error messages
//! never quote the input: serde/hex messages can contain it, so they are replaced
//! by fixed phrases plus line/column.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{KeySource, Result, VaultError};
use crate::key_id::KeyId;
use crate::keyring::{KEY_LEN, Keyring, SecretKey};

/// The only key-file format version.
pub(crate) const KEY_FILE_VERSION: u32 = 1;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileIn {
    version: u32,
    active: String,
    #[serde(deserialize_with = "entries")]
    keys: Vec<(String, Zeroizing<String>)>,
    blind_index: BlindIndexIn,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlindIndexIn {
    id: String,
    key: Zeroizing<String>,
}

#[derive(Serialize)]
struct KeyFileOut<'a> {
    version: u32,
    active: &'a str,
    keys: BTreeMap<&'a str, &'a str>,
    blind_index: BlindIndexOut<'a>,
}

#[derive(Serialize)]
struct BlindIndexOut<'a> {
    id: &'a str,
    key: &'a str,
}

/// Reads a JSON object as a list of entries, keeping duplicates so they can be reported.
fn entries<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<(String, Zeroizing<String>)>, D::Error> {
    struct Entries;
    impl<'de> Visitor<'de> for Entries {
        type Value = Vec<(String, Zeroizing<String>)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object of key id to 64 hex digits")
        }
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = map.next_entry::<String, Zeroizing<String>>()? {
                out.push(entry);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Entries)
}

/// Parses and validates key-file JSON.
pub(crate) fn parse(bytes: &[u8], source: &KeySource) -> Result<Keyring> {
    let bad = |reason: String| VaultError::bad_keys(source, reason);
    let file: KeyFileIn =
        serde_json::from_slice(bytes).map_err(|e| bad(describe_json_error(&e)))?;

    if file.version != KEY_FILE_VERSION {
        return Err(bad(format!(
            "unsupported version {} (expected {KEY_FILE_VERSION})",
            file.version
        )));
    }
    if file.keys.is_empty() {
        return Err(bad("\"keys\" holds no data key".into()));
    }

    let mut data_keys = BTreeMap::new();
    for (id, hex) in &file.keys {
        let id = KeyId::parse(id)
            .ok_or_else(|| bad("a data key id is not 1-32 characters of A-Z a-z 0-9 - _".into()))?;
        let key = decode_key(hex)
            .ok_or_else(|| bad(format!("data key {id} is not 64 hex digits (32 bytes)")))?;
        if data_keys.insert(id.clone(), key).is_some() {
            return Err(bad(format!("data key id {id} appears twice")));
        }
    }

    let active =
        KeyId::parse(&file.active).ok_or_else(|| bad("\"active\" is not a valid key id".into()))?;
    if !data_keys.contains_key(&active) {
        return Err(bad(format!(
            "active key {active} is not among the data keys"
        )));
    }

    let blind_id = KeyId::parse(&file.blind_index.id)
        .ok_or_else(|| bad("the blind-index key id is not a valid key id".into()))?;
    if data_keys.contains_key(&blind_id) {
        return Err(bad(format!(
            "blind-index key id {blind_id} is also a data key id; use a distinct id such as b1"
        )));
    }
    let blind_key = decode_key(&file.blind_index.key).ok_or_else(|| {
        bad(format!(
            "blind-index key {blind_id} is not 64 hex digits (32 bytes)"
        ))
    })?;

    check_distinct(&data_keys, &blind_id, &blind_key).map_err(bad)?;
    Ok(Keyring::from_parts(active, data_keys, blind_id, blind_key))
}

/// Rejects all-zero keys (placeholders) and the same key material under two ids.
fn check_distinct(
    data_keys: &BTreeMap<KeyId, SecretKey>,
    blind_id: &KeyId,
    blind_key: &SecretKey,
) -> std::result::Result<(), String> {
    let all = data_keys
        .iter()
        .chain(std::iter::once((blind_id, blind_key)));
    let mut seen: HashSet<&[u8; KEY_LEN]> = HashSet::new();
    for (id, key) in all {
        let bytes = key.expose_secret();
        if bytes.iter().all(|&b| b == 0) {
            return Err(format!("key {id} is all zeros"));
        }
        if !seen.insert(bytes) {
            return Err(format!(
                "key {id} has the same key material as another key; every key must be distinct"
            ));
        }
    }
    Ok(())
}

/// Decodes 64 hex digits straight into a heap secret; `None` if malformed.
fn decode_key(hex_digits: &str) -> Option<SecretKey> {
    let mut key = SecretBox::new(Box::new([0u8; KEY_LEN]));
    hex::decode_to_slice(hex_digits.as_bytes(), key.expose_secret_mut()).ok()?;
    Some(key)
}

/// Renders a keyring as key-file JSON (pretty, trailing newline) into a zeroizing buffer.
pub(crate) fn render(keyring: &Keyring) -> Zeroizing<Vec<u8>> {
    let encode = |key: &SecretKey| {
        let mut buf = Zeroizing::new(vec![0u8; KEY_LEN * 2]);
        hex::encode_to_slice(key.expose_secret(), &mut buf).expect("buffer is 2 × key length");
        buf
    };
    let data_hex: Vec<(&KeyId, Zeroizing<Vec<u8>>)> = keyring
        .data_keys()
        .iter()
        .map(|(id, key)| (id, encode(key)))
        .collect();
    let blind_hex = encode(keyring.blind_key());

    let out = KeyFileOut {
        version: KEY_FILE_VERSION,
        active: keyring.active_key_id().as_str(),
        keys: data_hex
            .iter()
            .map(|(id, hex)| (id.as_str(), as_str(hex)))
            .collect(),
        blind_index: BlindIndexOut {
            id: keyring.blind_index_key_id().as_str(),
            key: as_str(&blind_hex),
        },
    };
    // Reserve generously so the buffer holding key hex never reallocates.
    let mut buf = Zeroizing::new(Vec::with_capacity(256 + 128 * (data_hex.len() + 1)));
    serde_json::to_writer_pretty(&mut *buf, &out).expect("serializing to a Vec cannot fail");
    buf.push(b'\n');
    buf
}

/// Views a hex buffer as `&str` (a view, not a copy).
fn as_str(buf: &[u8]) -> &str {
    std::str::from_utf8(buf).expect("hex is ASCII")
}

/// A description of a JSON error that never quotes the input.
fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {}, column {}", e.line(), e.column());
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => format!("not valid JSON ({at})"),
        Category::Data => {
            let msg = e.to_string();
            // "missing field `x`" names one of our own field names: safe to show.
            match msg.strip_prefix("missing field ") {
                Some(rest) => {
                    let field = rest.split(' ').next().unwrap_or_default();
                    format!("missing field {field} ({at})")
                }
                None => format!(
                    "unexpected field or value ({at}); expected \
                     {{\"version\":1,\"active\":…,\"keys\":{{…}},\"blind_index\":{{\"id\":…,\"key\":…}}}}"
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX1: &str = "0101010101010101010101010101010101010101010101010101010101010101";
    const HEX2: &str = "02020202020202020202020202020202020202020202020202020202020202a2";
    const HEXB: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn json(active: &str, keys: &str, blind: &str) -> String {
        format!(r#"{{"version":1,"active":"{active}","keys":{{{keys}}},"blind_index":{blind}}}"#)
    }

    fn blind() -> String {
        format!(r#"{{"id":"b1","key":"{HEXB}"}}"#)
    }

    fn err(j: &str) -> String {
        match parse(j.as_bytes(), &KeySource::Json) {
            Ok(_) => panic!("should be rejected: {j}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn parses_valid_json() {
        let j = json("k2", &format!(r#""k1":"{HEX1}","k2":"{HEX2}""#), &blind());
        let k = parse(j.as_bytes(), &KeySource::Json).unwrap();
        assert_eq!(k.active_key_id().as_str(), "k2");
        let ids: Vec<_> = k.data_key_ids().map(KeyId::as_str).collect();
        assert_eq!(ids, ["k1", "k2"]);
        assert_eq!(k.blind_index_key_id().as_str(), "b1");
        assert_eq!(
            k.data_keys()[&KeyId::parse("k2").unwrap()].expose_secret()[31],
            0xa2
        );
    }

    #[test]
    fn accepts_upper_case_hex() {
        let j = json(
            "k1",
            &format!(r#""k1":"{}""#, HEX2.to_uppercase()),
            &blind(),
        );
        assert!(parse(j.as_bytes(), &KeySource::Json).is_ok());
    }

    #[test]
    fn render_then_parse_round_trips() {
        let k = Keyring::generate().unwrap();
        let text = render(&k);
        let back = parse(&text, &KeySource::Json).unwrap();
        assert_eq!(back.active_key_id(), k.active_key_id());
        assert_eq!(back.blind_index_key_id(), k.blind_index_key_id());
        let s = k.seal(b"x", b"y");
        assert_eq!(back.open(&s, b"y").unwrap().as_slice(), b"x");
        assert_eq!(back.blind_index("p", b"v"), k.blind_index("p", b"v"));
    }

    #[test]
    fn rejects_short_long_and_non_hex_keys() {
        for bad_key in [
            &HEX1[..62],
            &format!("{HEX1}00")[..],
            &HEX1.replace('1', "g")[..],
            "",
        ] {
            let e = err(&json("k1", &format!(r#""k1":"{bad_key}""#), &blind()));
            assert!(e.contains("data key k1 is not 64 hex digits"), "{e}");
        }
        let e = err(&json(
            "k1",
            &format!(r#""k1":"{HEX1}""#),
            &format!(r#"{{"id":"b1","key":"{}"}}"#, &HEXB[..10]),
        ));
        assert!(e.contains("blind-index key b1 is not 64 hex digits"), "{e}");
    }

    #[test]
    fn rejects_missing_or_unknown_active() {
        let e = err(&format!(
            r#"{{"version":1,"keys":{{"k1":"{HEX1}"}},"blind_index":{}}}"#,
            blind()
        ));
        assert!(e.contains("missing field `active`"), "{e}");
        let e = err(&json("k9", &format!(r#""k1":"{HEX1}""#), &blind()));
        assert!(
            e.contains("active key k9 is not among the data keys"),
            "{e}"
        );
    }

    #[test]
    fn rejects_structural_problems() {
        let keys = format!(r#""k1":"{HEX1}""#);
        let cases = [
            (json("k1", "", &blind()), "holds no data key"),
            (
                json("k1", &format!(r#""k1":"{HEX1}","k1":"{HEX2}""#), &blind()),
                "data key id k1 appears twice",
            ),
            (
                json("k1", &format!(r#""k 1":"{HEX1}""#), &blind()),
                "a data key id is not",
            ),
            (
                json("k1", &keys, &format!(r#"{{"id":"k1","key":"{HEXB}"}}"#)),
                "also a data key id",
            ),
            (
                json("k1", &keys, &format!(r#"{{"id":"b1","key":"{HEX1}"}}"#)),
                "same key material",
            ),
            (
                json("k1", &format!(r#""k1":"{HEX1}","k2":"{HEX1}""#), &blind()),
                "same key material",
            ),
            (
                json("k1", &format!(r#""k1":"{}""#, "0".repeat(64)), &blind()),
                "key k1 is all zeros",
            ),
            (
                json("k1", &keys, &blind()).replace("\"version\":1", "\"version\":2"),
                "unsupported version 2",
            ),
            ("{".to_owned(), "not valid JSON"),
            (
                json("k1", &keys, &blind()).replace("\"active\"", "\"activ\""),
                "unexpected field or value",
            ),
        ];
        for (j, expected) in cases {
            let e = err(&j);
            assert!(e.contains(expected), "{j} → {e}");
        }
    }

    #[test]
    fn errors_never_quote_key_material() {
        // Key hex in places where serde would quote it in its own messages.
        let cases = [
            format!(
                r#"{{"version":1,"active":"k1","keys":"{HEX2}","blind_index":{}}}"#,
                blind()
            ),
            format!(
                r#"{{"version":"{HEX2}","active":"k1","keys":{{}},"blind_index":{}}}"#,
                blind()
            ),
            format!(
                r#"{{"version":1,"active":"k1","keys":{{"{HEX2}":"k1"}},"blind_index":{}}}"#,
                blind()
            ),
            format!(
                r#"{{"version":1,"active":"{HEX2}","keys":{{"k1":"{HEX1}"}},"blind_index":{}}}"#,
                blind()
            ),
            format!(
                r#"{{"version":1,"active":"k1","keys":{{"k1":"{HEX1}"}},"{HEX2}":1,"blind_index":{}}}"#,
                blind()
            ),
            format!(
                r#"{{"version":1,"active":"k1","keys":{{"k1":"{HEX1}"}},"blind_index":["{HEX2}"]}}"#
            ),
            format!(
                r#"{{"version":1,"active":"k1","keys":{{"k1":"{}"}},"blind_index":{}}}"#,
                &HEX2[..63],
                blind()
            ),
        ];
        for j in cases {
            let e = err(&j);
            let dbg = format!("{:?}", parse(j.as_bytes(), &KeySource::Json).err().unwrap());
            for needle in [&HEX2[..16], &HEX1[..16]] {
                assert!(!e.contains(needle) && !dbg.contains(needle), "{e} / {dbg}");
            }
        }
    }
}
