//! RESP2, the Redis protocol: commands out, replies in. Only what the
//! shared store needs; every length a server sends is bounded before it is
//! believed.

use super::StateError;

/// The largest bulk string believed (a stored approval request is a few KiB).
const MAX_BULK: usize = 16 * 1024 * 1024;
/// The most elements of one array.
const MAX_ARRAY: usize = 1 << 20;
/// Arrays within arrays, at most.
const MAX_DEPTH: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Nil,
    Int(i64),
    Bulk(Vec<u8>),
    Status(String),
    Array(Vec<Reply>),
    /// The server refused the command (`-ERR …`, `-NOAUTH …`).
    Error(String),
}

impl Reply {
    /// A bulk or status reply as text.
    pub fn text(&self) -> Option<String> {
        match self {
            Reply::Bulk(b) => String::from_utf8(b.clone()).ok(),
            Reply::Status(s) => Some(s.clone()),
            _ => None,
        }
    }

    pub fn int(&self) -> Option<i64> {
        match self {
            Reply::Int(i) => Some(*i),
            _ => None,
        }
    }
}

/// A command as RESP: an array of bulk strings.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// One whole reply at the start of `buf` and the bytes it took, or `None`
/// when more bytes are needed.
pub fn parse(buf: &[u8]) -> Result<Option<(Reply, usize)>, StateError> {
    parse_at(buf, 0, 0)
}

fn line(buf: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(at..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..end], at + end + 2))
}

fn protocol(what: impl Into<String>) -> StateError {
    StateError::Protocol(what.into())
}

fn number(text: &[u8]) -> Result<i64, StateError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| protocol(format!("not a number: {:?}", String::from_utf8_lossy(text))))
}

fn parse_at(buf: &[u8], at: usize, depth: usize) -> Result<Option<(Reply, usize)>, StateError> {
    let Some(&kind) = buf.get(at) else {
        return Ok(None);
    };
    let Some((head, next)) = line(buf, at + 1) else {
        if buf.len() - at > 64 * 1024 {
            return Err(protocol("a reply line longer than 64 KiB"));
        }
        return Ok(None);
    };
    let text = || String::from_utf8_lossy(head).into_owned();
    match kind {
        b'+' => Ok(Some((Reply::Status(text()), next))),
        b'-' => Ok(Some((Reply::Error(text()), next))),
        b':' => Ok(Some((Reply::Int(number(head)?), next))),
        b'$' => {
            let n = number(head)?;
            if n == -1 {
                return Ok(Some((Reply::Nil, next)));
            }
            let n = usize::try_from(n)
                .ok()
                .filter(|n| *n <= MAX_BULK)
                .ok_or_else(|| protocol(format!("a bulk string of {n} bytes")))?;
            if buf.len() < next + n + 2 {
                return Ok(None);
            }
            if &buf[next + n..next + n + 2] != b"\r\n" {
                return Err(protocol("a bulk string not ended by CRLF"));
            }
            Ok(Some((
                Reply::Bulk(buf[next..next + n].to_vec()),
                next + n + 2,
            )))
        }
        b'*' => {
            let n = number(head)?;
            if n == -1 {
                return Ok(Some((Reply::Nil, next)));
            }
            if depth >= MAX_DEPTH {
                return Err(protocol("arrays nested too deep"));
            }
            let n = usize::try_from(n)
                .ok()
                .filter(|n| *n <= MAX_ARRAY)
                .ok_or_else(|| protocol(format!("an array of {n} elements")))?;
            let mut items = Vec::with_capacity(n.min(1024));
            let mut at = next;
            for _ in 0..n {
                match parse_at(buf, at, depth + 1)? {
                    Some((item, used)) => {
                        items.push(item);
                        at = used;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Reply::Array(items), at)))
        }
        other => Err(protocol(format!("unknown reply type {:?}", other as char))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quickcheck::quickcheck;

    fn whole(bytes: &[u8]) -> Reply {
        let (r, used) = parse(bytes).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        r
    }

    #[test]
    fn every_reply_type_parses() {
        assert_eq!(whole(b"+OK\r\n"), Reply::Status("OK".into()));
        assert_eq!(
            whole(b"-NOAUTH Authentication required.\r\n"),
            Reply::Error("NOAUTH Authentication required.".into())
        );
        assert_eq!(whole(b":-42\r\n"), Reply::Int(-42));
        assert_eq!(
            whole(b"$5\r\na\r\nb!\r\n"),
            Reply::Bulk(b"a\r\nb!".to_vec())
        );
        assert_eq!(whole(b"$-1\r\n"), Reply::Nil);
        assert_eq!(
            whole(b"*3\r\n:1\r\n$0\r\n\r\n*1\r\n+x\r\n"),
            Reply::Array(vec![
                Reply::Int(1),
                Reply::Bulk(vec![]),
                Reply::Array(vec![Reply::Status("x".into())])
            ])
        );
        assert_eq!(
            encode(&[b"GET", b"k y"]),
            b"*2\r\n$3\r\nGET\r\n$3\r\nk y\r\n".to_vec()
        );
    }

    #[test]
    fn partial_replies_wait_and_lies_are_refused() {
        for partial in [
            &b""[..],
            b"+OK",
            b"$5\r\nab",
            b"*2\r\n:1\r\n",
            b"$3\r\nabc\r",
        ] {
            assert_eq!(parse(partial).unwrap(), None, "{partial:?}");
        }
        for bad in [
            &b"$99999999999\r\n"[..],
            b"*-5\r\n",
            b"?\r\n",
            b":x\r\n",
            b"$3\r\nabcde",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let deep = "*1\r\n".repeat(MAX_DEPTH + 1) + ":1\r\n";
        assert!(parse(deep.as_bytes()).is_err());
    }

    quickcheck! {
        /// Whatever a server sends, parsing ends (a reply, "more", or an
        /// error) without panicking, and never claims more bytes than given.
        fn parsing_arbitrary_bytes_never_panics(bytes: Vec<u8>) -> bool {
            match parse(&bytes) {
                Ok(Some((_, used))) => used <= bytes.len(),
                _ => true,
            }
        }

        /// A command's encoding is read back as the same strings.
        fn commands_round_trip(args: Vec<Vec<u8>>) -> bool {
            let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            let encoded = encode(&refs);
            whole(&encoded) == Reply::Array(args.into_iter().map(Reply::Bulk).collect())
        }
    }
}
