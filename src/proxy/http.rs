//! Just enough HTTP/1.1 to see where each request to the S3 server starts and what its
//! method is: a request line, headers up to an empty line, then a body of
//! `Content-Length` bytes. A body sent in chunks (or a head over 64 KiB) ends the reading
//! of that connection: its later requests pass unseen.

const MAX_HEAD: usize = 64 * 1024;

/// A request whose head was just read whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Where its first byte is in the chunk just fed (`None`: in an earlier chunk).
    pub starts_at: Option<usize>,
}

#[derive(Default)]
pub struct Framer {
    head: Vec<u8>,
    /// Where the head being read began in the chunk being fed.
    head_start: Option<usize>,
    body_left: u64,
    lost: bool,
}

impl Framer {
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<Request>) {
        let mut at = 0;
        while at < data.len() && !self.lost {
            if self.body_left > 0 {
                let take = (self.body_left.min((data.len() - at) as u64)) as usize;
                self.body_left -= take as u64;
                at += take;
                continue;
            }
            if self.head.is_empty() {
                self.head_start = Some(at);
            }
            // Up to the end of the head (an empty line), or the chunk.
            let rest = &data[at..];
            let before = self.head.len();
            self.head.extend_from_slice(rest);
            let Some(end) = find(&self.head, b"\r\n\r\n") else {
                self.lost = self.head.len() > MAX_HEAD;
                break;
            };
            let used = end + 4 - before;
            self.head.truncate(end + 4);
            at += used;
            match parse_head(&self.head) {
                Some((method, path, length, chunked)) => {
                    self.body_left = length;
                    self.lost = chunked;
                    out.push(Request {
                        method,
                        path,
                        starts_at: self.head_start,
                    });
                }
                None => self.lost = true,
            }
            self.head.clear();
        }
        self.head_start = None;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Method, path, body length, and whether the body is chunked.
fn parse_head(head: &[u8]) -> Option<(String, String, u64, bool)> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let (mut length, mut chunked) = (0, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().ok()?;
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    Some((method, path, length, chunked))
}

/// What S3 answers when it sheds load; the connection then closes.
pub fn slow_down_response() -> Vec<u8> {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>\
        <Message>Please reduce your request rate (ducklake-stress fault proxy: failed_upload).</Message></Error>";
    format!(
        "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
        Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_found_however_the_stream_is_cut() {
        let stream: &[u8] = b"GET /b/x HTTP/1.1\r\nHost: h\r\n\r\n\
            PUT /b/y HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello\
            HEAD /b/z HTTP/1.1\r\n\r\n";
        for split in 0..stream.len() {
            let mut f = Framer::default();
            let mut out = Vec::new();
            f.feed(&stream[..split], &mut out);
            f.feed(&stream[split..], &mut out);
            let methods: Vec<_> = out.iter().map(|r| r.method.as_str()).collect();
            assert_eq!(methods, ["GET", "PUT", "HEAD"], "split at {split}");
            assert_eq!(out[1].path, "/b/y");
        }
        let mut f = Framer::default();
        let mut out = Vec::new();
        f.feed(stream, &mut out);
        let starts: Vec<_> = out.iter().map(|r| r.starts_at).collect();
        assert_eq!(starts, [Some(0), Some(30), Some(75)]);
    }

    #[test]
    fn a_chunked_body_ends_the_reading() {
        let mut f = Framer::default();
        let mut out = Vec::new();
        f.feed(
            b"PUT /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
            &mut out,
        );
        assert_eq!(out.len(), 1);
    }
}
