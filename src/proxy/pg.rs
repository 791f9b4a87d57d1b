//! Just enough of the Postgres wire protocol (v3) to see a COMMIT and its reply. Before the
//! startup message a client may ask for TLS or GSS encryption: the proxy answers "no" itself
//! (libpq's default `sslmode=prefer` then goes on in plain text), so that every later
//! message can be read: a type byte, then a 4-byte big-endian length that counts itself.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SSL_REQUEST: u32 = 80877103;
const GSSENC_REQUEST: u32 = 80877104;
/// The startup message's length is bounded by Postgres itself at 10000 bytes.
const MAX_STARTUP: usize = 10_000;
/// How much of a message's start and end the framer keeps (its type and whether it
/// commits are all the proxy looks at).
const KEEP_HEAD: usize = 256;
const KEEP_TAIL: usize = 64;

/// The client's startup message, forwarded unchanged, and its application_name.
pub struct Startup {
    pub bytes: Vec<u8>,
    pub application_name: Option<String>,
}

/// Reads the client's first messages: refuses encryption requests, returns the startup
/// message (or a cancel request, forwarded as it is).
pub async fn startup(client: &mut TcpStream) -> anyhow::Result<Startup> {
    for _ in 0..3 {
        let mut head = [0u8; 8];
        client.read_exact(&mut head).await?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let code = u32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        if len == 8 && (code == SSL_REQUEST || code == GSSENC_REQUEST) {
            client.write_all(b"N").await?;
            continue;
        }
        anyhow::ensure!((8..=MAX_STARTUP).contains(&len), "not a Postgres startup message");
        let mut bytes = head.to_vec();
        bytes.resize(len, 0);
        client.read_exact(&mut bytes[8..]).await?;
        let application_name = parameter(&bytes[8..], "application_name");
        return Ok(Startup {
            bytes,
            application_name,
        });
    }
    anyhow::bail!("the client asked for encryption three times")
}

/// A parameter of a startup message's `name\0value\0…\0` list.
fn parameter(params: &[u8], name: &str) -> Option<String> {
    let mut fields = params.split(|b| *b == 0);
    while let Some(key) = fields.next() {
        let value = fields.next()?;
        if key == name.as_bytes() {
            return Some(String::from_utf8_lossy(value).into_owned());
        }
    }
    None
}

/// One whole message, with the start and end of its body.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub typ: u8,
    pub len: usize,
    pub head: Vec<u8>,
    pub tail: Vec<u8>,
}

impl Message {
    /// The body as text (a query, a command tag), NULs and all cut at the first NUL.
    pub fn text(&self) -> String {
        let cut = |b: &[u8]| {
            let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
            String::from_utf8_lossy(&b[..end]).into_owned()
        };
        cut(&self.head)
    }

    /// Whether a simple query's last statement is COMMIT (or END).
    pub fn commits(&self) -> bool {
        if self.typ != b'Q' {
            return false;
        }
        let tail = self.tail.strip_suffix(&[0]).unwrap_or(&self.tail);
        let text = String::from_utf8_lossy(tail).to_ascii_uppercase();
        let last = text
            .trim_end_matches(|c: char| c.is_whitespace() || c == ';')
            .rsplit(';')
            .next()
            .unwrap_or("")
            .trim();
        matches!(last, "COMMIT" | "END" | "COMMIT TRANSACTION" | "COMMIT WORK")
    }

    /// Whether a query or a parse writes (what makes its transaction's COMMIT worth losing).
    pub fn writes(&self) -> bool {
        if self.typ != b'Q' && self.typ != b'P' {
            return false;
        }
        let text = String::from_utf8_lossy(&self.head).to_ascii_uppercase();
        ["INSERT", "UPDATE", "DELETE", "COPY"].iter().any(|w| text.contains(w))
    }
}

/// Splits a stream of typed messages; keeps only the start and end of each body.
#[derive(Default)]
pub struct Framer {
    header: Vec<u8>,
    current: Option<Message>,
    left: usize,
}

impl Framer {
    pub fn feed(&mut self, mut data: &[u8], out: &mut Vec<Message>) {
        while !data.is_empty() {
            if self.current.is_none() {
                let want = 5 - self.header.len();
                let take = want.min(data.len());
                self.header.extend_from_slice(&data[..take]);
                data = &data[take..];
                if self.header.len() < 5 {
                    return;
                }
                let h = &self.header;
                let len = u32::from_be_bytes([h[1], h[2], h[3], h[4]]) as usize;
                self.left = len.saturating_sub(4);
                self.current = Some(Message {
                    typ: h[0],
                    len,
                    head: Vec::new(),
                    tail: Vec::new(),
                });
                self.header.clear();
            }
            let take = self.left.min(data.len());
            if let Some(m) = &mut self.current {
                let room = KEEP_HEAD.saturating_sub(m.head.len()).min(take);
                m.head.extend_from_slice(&data[..room]);
                m.tail.extend_from_slice(&data[take.saturating_sub(KEEP_TAIL)..take]);
                if m.tail.len() > KEEP_TAIL {
                    m.tail.drain(..m.tail.len() - KEEP_TAIL);
                }
            }
            self.left -= take;
            data = &data[take..];
            if self.left == 0 {
                out.extend(self.current.take());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(typ: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![typ];
        m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn messages_split_anywhere_come_out_whole_and_a_commit_is_seen() {
        let mut stream = msg(b'Q', b"INSERT INTO t VALUES (1)\0");
        stream.extend(msg(b'Q', b"UPDATE x SET a = 1; COMMIT\0"));
        stream.extend(msg(b'Z', b"I"));
        for split in 0..stream.len() {
            let mut f = Framer::default();
            let mut out = Vec::new();
            f.feed(&stream[..split], &mut out);
            f.feed(&stream[split..], &mut out);
            assert_eq!(out.len(), 3, "split at {split}");
            assert!(out[0].writes() && !out[0].commits());
            assert!(out[1].commits());
            assert_eq!((out[2].typ, out[2].text()), (b'Z', "I".to_string()));
        }
    }

    #[test]
    fn a_commit_is_the_last_statement_only() {
        let q = |s: &str| Message {
            typ: b'Q',
            len: 0,
            head: s.as_bytes().to_vec(),
            tail: format!("{s}\0").into_bytes(),
        };
        assert!(q("commit").commits() && q("COMMIT;\n").commits() && q("END").commits());
        assert!(!q("COMMIT; BEGIN").commits() && !q("SELECT 'COMMIT'").commits());
    }

    #[test]
    fn the_application_name_is_read_from_the_startup_parameters() {
        let params = b"user\0u\0application_name\0ducklake-stress/r/w3\0\0";
        assert_eq!(
            parameter(params, "application_name").as_deref(),
            Some("ducklake-stress/r/w3")
        );
        assert_eq!(parameter(params, "database"), None);
    }
}
