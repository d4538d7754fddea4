//! A forwarding HTTP proxy on 127.0.0.1 for the tests: `CONNECT host:port` tunnels (for https
//! targets) and absolute-form `GET http://…` (for http targets), with optional Basic
//! authentication (407 without it) or a refusal of every tunnel (403). It counts what it saw and
//! stops when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

/// How the proxy treats requests.
#[derive(Debug, Clone, Default)]
pub struct ProxyRules {
    /// `Proxy-Authorization: Basic base64(user:pass)` required, else 407.
    pub basic_auth: Option<String>,
    /// Answer 403 to every request.
    pub refuse: bool,
}

/// A running proxy.
pub struct TestProxy {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Requests seen (CONNECT or GET), as their first line.
    pub seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl TestProxy {
    pub fn start(rules: ProxyRules) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (seen, rules) = (seen2.clone(), rules.clone());
                thread::spawn(move || handle(conn, &rules, &seen));
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}"),
            seen,
            stop,
            port,
        }
    }

    /// How many requests reached the proxy.
    pub fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

static TUNNELS: AtomicUsize = AtomicUsize::new(0);

fn handle(client: TcpStream, rules: &ProxyRules, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(client.try_clone().expect("clone"));
    let mut first = String::new();
    if reader.read_line(&mut first).is_err() || first.is_empty() {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || line == "\r\n" || line.is_empty() {
            break;
        }
        headers.push(line);
    }
    seen.lock().unwrap().push(first.trim_end().to_owned());
    let mut client_w = client.try_clone().expect("clone");
    if rules.refuse {
        let _ = client_w.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
        return;
    }
    if let Some(expected) = &rules.basic_auth {
        let ok = headers.iter().any(|h| {
            h.to_ascii_lowercase().starts_with("proxy-authorization:")
                && h.trim_end().ends_with(&format!("Basic {expected}"))
        });
        if !ok {
            let _ = client_w.write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                  Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
            );
            return;
        }
    }
    let mut parts = first.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method == "CONNECT" {
        let Ok(upstream) = TcpStream::connect(target) else {
            let _ = client_w.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
            return;
        };
        let _ = client_w.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        TUNNELS.fetch_add(1, Ordering::Relaxed);
        // Whatever the client sent after the request line is already in `reader`'s buffer.
        let pending = reader.buffer().to_vec();
        pipe(reader.into_inner(), upstream, pending);
    } else {
        // Absolute form: GET http://host:port/path HTTP/1.1
        let rest = target.trim_start_matches("http://");
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let Ok(mut upstream) = TcpStream::connect(host) else {
            let _ = client_w.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
            return;
        };
        let mut head = format!("{method} /{path} HTTP/1.1\r\n");
        for h in &headers {
            if !h.to_ascii_lowercase().starts_with("proxy-") {
                head.push_str(h);
            }
        }
        head.push_str("\r\n");
        if upstream.write_all(head.as_bytes()).is_err() {
            return;
        }
        let pending = reader.buffer().to_vec();
        pipe(reader.into_inner(), upstream, pending);
    }
}

/// Copies both ways until either side closes.
fn pipe(client: TcpStream, upstream: TcpStream, pending: Vec<u8>) {
    let (mut c_read, mut u_write) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    let (mut u_read, mut c_write) = (upstream, client);
    let up = thread::spawn(move || {
        let _ = u_write.write_all(&pending);
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = c_read.read(&mut buf) {
            if n == 0 || u_write.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = u_write.shutdown(Shutdown::Write);
    });
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = u_read.read(&mut buf) {
        if n == 0 || c_write.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = c_write.shutdown(Shutdown::Write);
    let _ = up.join();
}
