//! Downloads from mirrors served by a tiny HTTP/1.1 server on 127.0.0.1 inside the test (nothing
//! goes beyond the loopback interface): a good file lands verified, a corrupt mirror is skipped
//! without leaving anything behind, failing mirrors are all reported, the MNIST cache is filled,
//! and an offline download names every missing file and each mirror once, and leaves no folder.
//!
//! The files served are the real MNIST files, found through `MNIST_DIR`, else the repository's
//! `data/mnist`; when neither holds them the tests fail (never skip).

#![cfg(feature = "download")]

mod common;
use common::mnist_dir;

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use feedforward::data::download::{download_file, DownloadEvent, MNIST_FILES};
use feedforward::data::mnist::{download_mnist, MnistLookup, MnistSource, FILE_NAMES};
use feedforward::Error;
use flate2::write::GzEncoder;
use flate2::Compression;

/// The gzip bytes of the real MNIST file `gz_name` (`*.gz`), as a mirror would serve them.
fn real_gz(gz_name: &str) -> Vec<u8> {
    let dir = mnist_dir();
    if let Ok(bytes) = fs::read(dir.join(gz_name)) {
        return bytes;
    }
    let raw = fs::read(dir.join(gz_name.trim_end_matches(".gz"))).expect("read MNIST file");
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(&raw).expect("gzip");
    enc.finish().expect("gzip")
}

/// The expected content SHA-256 of `gz_name`.
fn sha_of(gz_name: &str) -> &'static str {
    MNIST_FILES
        .iter()
        .find(|f| f.name == gz_name)
        .expect("known MNIST file")
        .sha256
}

/// What the test server answers for a path.
#[derive(Clone)]
enum Reply {
    /// 200 with this body.
    Ok(Vec<u8>),
    /// 200 announcing the full length, but the connection closes after this many bytes.
    CutShort(Vec<u8>, usize),
}

/// A bounded HTTP/1.1 server on 127.0.0.1: answers at most `max_requests` requests (404 for
/// unknown paths), gives up after 60 s, and returns the paths it was asked for.
struct Server {
    addr: SocketAddr,
    handle: JoinHandle<Vec<String>>,
}

impl Server {
    fn start(routes: HashMap<String, Reply>, max_requests: usize) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let handle = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut seen = Vec::new();
            while seen.len() < max_requests && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Some(path) = answer(stream, &routes) {
                            seen.push(path);
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => break,
                }
            }
            seen
        });
        Server { addr, handle }
    }

    fn url(&self, prefix: &str) -> String {
        format!("http://{}/{prefix}/", self.addr)
    }

    fn requests(self) -> Vec<String> {
        self.handle.join().expect("server thread")
    }
}

/// Reads one request from `stream` and answers it; returns the path asked for.
fn answer(mut stream: TcpStream, routes: &HashMap<String, Reply>) -> Option<String> {
    stream.set_nonblocking(false).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&request);
    let path = text.split_whitespace().nth(1)?.to_string();
    let head = |status: &str, len: usize| {
        format!("HTTP/1.1 {status}\r\nContent-Length: {len}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n")
    };
    let _ = match routes.get(&path) {
        Some(Reply::Ok(body)) => stream
            .write_all(head("200 OK", body.len()).as_bytes())
            .and_then(|()| stream.write_all(body)),
        Some(Reply::CutShort(body, sent)) => stream
            .write_all(head("200 OK", body.len()).as_bytes())
            .and_then(|()| stream.write_all(&body[..*sent])),
        None => stream
            .write_all(head("404 Not Found", 9).as_bytes())
            .and_then(|()| stream.write_all(b"not found")),
    };
    let _ = stream.flush();
    Some(path)
}

/// The names in `dir` (hidden temporary files included).
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

/// A port on 127.0.0.1 where nothing listens.
fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{addr}/closed/")
}

/// A copy of `bytes` with a run of bytes in the middle flipped.
fn corrupted(bytes: &[u8]) -> Vec<u8> {
    let mut v = bytes.to_vec();
    let mid = v.len() / 2;
    for b in &mut v[mid..mid + 8] {
        *b = !*b;
    }
    v
}

const LABELS: &str = "t10k-labels-idx1-ubyte.gz";

#[test]
fn a_good_file_downloads_verifies_and_lands() {
    let body = real_gz(LABELS);
    let routes = HashMap::from([(format!("/good/{LABELS}"), Reply::Ok(body.clone()))]);
    let server = Server::start(routes, 1);
    let dest = tempfile::tempdir().unwrap();
    let dest_dir = dest.path().join("new").join("folder");
    let mut events = Vec::new();
    let path = download_file(
        &[&server.url("good")],
        LABELS,
        sha_of(LABELS),
        &dest_dir,
        &mut |e| events.push(e),
    )
    .unwrap();
    assert_eq!(path, dest_dir.join(LABELS));
    assert_eq!(fs::read(&path).unwrap(), body);
    assert_eq!(listing(&dest_dir), [LABELS]);
    assert_eq!(server.requests(), [format!("/good/{LABELS}")]);

    let url = format!("{}{LABELS}", server_url_prefix(&events));
    assert_eq!(
        events.first(),
        Some(&DownloadEvent::Started {
            file: LABELS.to_string(),
            url,
            total_bytes: Some(body.len() as u64)
        })
    );
    assert!(events.contains(&DownloadEvent::Progress {
        file: LABELS.to_string(),
        bytes: body.len() as u64
    }));
    assert_eq!(
        events.last(),
        Some(&DownloadEvent::Finished {
            file: LABELS.to_string()
        })
    );
    // The file is a valid IDX file.
    let arr = feedforward::data::idx::read_idx(&path).unwrap();
    assert_eq!(arr.dims, vec![10_000]);
}

/// The mirror base URL seen in the first `Started` event.
fn server_url_prefix(events: &[DownloadEvent]) -> String {
    match events.first() {
        Some(DownloadEvent::Started { url, .. }) => url.trim_end_matches(LABELS).to_string(),
        other => panic!("expected a Started event first, got {other:?}"),
    }
}

#[test]
fn a_corrupt_mirror_leaves_nothing_and_the_next_one_is_used() {
    let body = real_gz(LABELS);
    let routes = HashMap::from([
        (format!("/flipped/{LABELS}"), Reply::Ok(corrupted(&body))),
        (format!("/good/{LABELS}"), Reply::Ok(body.clone())),
    ]);
    let server = Server::start(routes, 3);
    let dest = tempfile::tempdir().unwrap();

    // Alone, the corrupt mirror fails and leaves the folder empty.
    let flipped = server.url("flipped");
    let err = download_file(
        &[&flipped],
        LABELS,
        sha_of(LABELS),
        dest.path(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, Error::Download { .. }), "{err:?}");
    assert_eq!(listing(dest.path()), Vec::<String>::new());

    // First in a list, it is skipped: when it is reported, nothing of it is left in the folder.
    let good = server.url("good");
    let mut failed = Vec::new();
    let dest_path = dest.path().to_path_buf();
    let path = download_file(
        &[&flipped, &good],
        LABELS,
        sha_of(LABELS),
        dest.path(),
        &mut |e| {
            if let DownloadEvent::MirrorFailed { url, reason, .. } = e {
                failed.push((url, reason, listing(&dest_path)));
            }
        },
    )
    .unwrap();
    assert_eq!(fs::read(&path).unwrap(), body);
    assert_eq!(listing(dest.path()), [LABELS]);
    assert_eq!(failed.len(), 1, "{failed:?}");
    let (url, reason, left) = &failed[0];
    assert_eq!(url, &format!("{flipped}{LABELS}"));
    assert!(
        reason.contains("gzip") || reason.contains("SHA-256"),
        "{reason}"
    );
    assert!(left.is_empty(), "left behind: {left:?}");

    // A valid gzip whose content differs is caught by the content hash.
    let server2 = Server::start(
        HashMap::from([(
            format!("/other/{LABELS}"),
            Reply::Ok(real_gz("train-labels-idx1-ubyte.gz")),
        )]),
        1,
    );
    let other_dest = tempfile::tempdir().unwrap();
    let err = download_file(
        &[&server2.url("other")],
        LABELS,
        sha_of(LABELS),
        other_dest.path(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("SHA-256"), "{err}");
    assert_eq!(listing(other_dest.path()), Vec::<String>::new());
    assert_eq!(server.requests().len(), 3);
    assert_eq!(server2.requests().len(), 1);
}

#[test]
fn when_every_mirror_fails_each_reason_is_reported() {
    let body = real_gz(LABELS);
    let routes = HashMap::from([
        (format!("/flipped/{LABELS}"), Reply::Ok(corrupted(&body))),
        (
            format!("/cut/{LABELS}"),
            Reply::CutShort(body.clone(), body.len() / 3),
        ),
    ]);
    let server = Server::start(routes, 3);
    let missing = server.url("missing");
    let flipped = server.url("flipped");
    let cut = server.url("cut");
    let closed = closed_port_url();
    let dest = tempfile::tempdir().unwrap();
    let mut failures = 0;
    let err = download_file(
        &[&missing, &flipped, &cut, &closed],
        LABELS,
        sha_of(LABELS),
        dest.path(),
        &mut |e| {
            if matches!(e, DownloadEvent::MirrorFailed { .. }) {
                failures += 1;
            }
        },
    )
    .unwrap_err();
    let msg = err.to_string();
    match &err {
        Error::Download { file, .. } => assert_eq!(file, LABELS),
        other => panic!("expected Download, got {other:?}"),
    }
    for url in [&missing, &flipped, &cut, &closed] {
        assert!(msg.contains(url.as_str()), "{url} not mentioned: {msg}");
    }
    assert!(msg.contains("404"), "{msg}");
    assert_eq!(failures, 4);
    assert_eq!(listing(dest.path()), Vec::<String>::new());
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn download_mnist_fills_a_cache_from_a_loopback_mirror() {
    let routes: HashMap<String, Reply> = MNIST_FILES
        .iter()
        .map(|f| (format!("/mnist/{}", f.name), Reply::Ok(real_gz(f.name))))
        .collect();
    let server = Server::start(routes, 3);
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().join("feedforward").join("mnist");
    // One file is already cached: only the other three are fetched.
    fs::create_dir_all(&cache_dir).unwrap();
    let cached = "train-images-idx3-ubyte.gz";
    fs::write(cache_dir.join(cached), real_gz(cached)).unwrap();

    let mut finished = Vec::new();
    let m = download_mnist(&cache_dir, &[&server.url("mnist")], &mut |e| {
        if let DownloadEvent::Finished { file } = e {
            finished.push(file);
        }
    })
    .unwrap();
    assert_eq!((m.train.len(), m.test.len()), (60_000, 10_000));
    assert_eq!(m.train.label(0), 5);
    let mut names: Vec<&str> = MNIST_FILES.iter().map(|f| f.name).collect();
    names.sort();
    assert_eq!(listing(&cache_dir), names);
    let mut requested = server.requests();
    requested.sort();
    assert_eq!(
        requested,
        [
            "/mnist/t10k-images-idx3-ubyte.gz",
            "/mnist/t10k-labels-idx1-ubyte.gz",
            "/mnist/train-labels-idx1-ubyte.gz"
        ]
    );
    assert_eq!(finished.len(), 3);

    // Once cached, nothing is fetched (the only mirror is a closed port).
    let again = download_mnist(&cache_dir, &[&closed_port_url()], &mut |e| {
        panic!("unexpected download event {e:?}")
    })
    .unwrap();
    assert_eq!(again.test.labels(), m.test.labels());
}

/// Mirrors that do not answer (closed ports on 127.0.0.1): the machine offline.
#[test]
fn offline_the_error_lists_every_file_and_each_mirror_once_and_leaves_no_folder() {
    let home = tempfile::tempdir().unwrap();
    let cache_dir = home.path().join(".cache").join("feedforward").join("mnist");
    // Two distinct mirrors: the system may hand out the same free port twice.
    let mirrors = [
        format!("{}a/", closed_port_url()),
        format!("{}b/", closed_port_url()),
    ];
    let mut failures = Vec::new();
    let err = download_mnist(&cache_dir, &[&mirrors[0], &mirrors[1]], &mut |e| match e {
        DownloadEvent::MirrorFailed { url, .. } => failures.push(url),
        other => panic!("unexpected event {other:?}"),
    })
    .unwrap_err();
    let msg = err.to_string();
    match &err {
        Error::MissingData { dir, missing, .. } => {
            assert_eq!(dir, &cache_dir);
            for name in FILE_NAMES {
                assert!(missing.contains(name), "{name} not listed: {missing}");
            }
        }
        other => panic!("expected MissingData, got {other:?}"),
    }
    // Each mirror is tried once (for the first file) and named once.
    assert_eq!(failures.len(), 2, "{failures:?}");
    for mirror in &mirrors {
        assert_eq!(msg.matches(mirror.as_str()).count(), 1, "{mirror}: {msg}");
    }
    assert!(
        msg.contains("--data-dir") && msg.contains("MNIST_DIR"),
        "{msg}"
    );
    // Nothing was created: not the cache folder, nor its parents.
    assert_eq!(listing(home.path()), Vec::<String>::new());
}

#[test]
fn a_partial_download_keeps_what_it_got_and_names_only_what_is_still_missing() {
    // The mirror has the two label files but not the test images (404).
    let routes: HashMap<String, Reply> = ["train-labels-idx1-ubyte.gz", LABELS]
        .iter()
        .map(|name| (format!("/mnist/{name}"), Reply::Ok(real_gz(name))))
        .collect();
    let server = Server::start(routes, 3);
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().join("mnist");
    fs::create_dir_all(&cache_dir).unwrap();
    let cached = "train-images-idx3-ubyte.gz";
    fs::write(cache_dir.join(cached), real_gz(cached)).unwrap();

    let mirror = server.url("mnist");
    let err = download_mnist(&cache_dir, &[&mirror], &mut |_| {}).unwrap_err();
    let msg = err.to_string();
    match &err {
        Error::MissingData { missing, .. } => {
            assert_eq!(missing, "t10k-images-idx3-ubyte[.gz]", "{msg}")
        }
        other => panic!("expected MissingData, got {other:?}"),
    }
    let url = format!("{mirror}t10k-images-idx3-ubyte.gz");
    assert_eq!(msg.matches(url.as_str()).count(), 1, "{msg}");
    assert!(msg.contains("404"), "{msg}");
    // The verified downloads stay for the next attempt.
    assert_eq!(
        listing(&cache_dir),
        [
            "t10k-labels-idx1-ubyte.gz",
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz"
        ]
    );
    let mut requested = server.requests();
    requested.sort();
    assert_eq!(
        requested,
        [
            "/mnist/t10k-images-idx3-ubyte.gz",
            "/mnist/t10k-labels-idx1-ubyte.gz",
            "/mnist/train-labels-idx1-ubyte.gz"
        ]
    );
}

#[test]
fn a_failed_single_download_removes_the_folders_it_created() {
    let body = real_gz(LABELS);
    let server = Server::start(
        HashMap::from([(format!("/flipped/{LABELS}"), Reply::Ok(corrupted(&body)))]),
        1,
    );
    let root = tempfile::tempdir().unwrap();
    let dest_dir = root.path().join("a").join("b");
    let err = download_file(
        &[&server.url("flipped")],
        LABELS,
        sha_of(LABELS),
        &dest_dir,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, Error::Download { .. }), "{err:?}");
    assert_eq!(listing(root.path()), Vec::<String>::new());
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn the_lookup_downloads_into_its_cache_when_no_folder_holds_the_files() {
    let routes: HashMap<String, Reply> = MNIST_FILES
        .iter()
        .map(|f| (format!("/mnist/{}", f.name), Reply::Ok(real_gz(f.name))))
        .collect();
    let server = Server::start(routes, 4);
    let root = tempfile::tempdir().unwrap();
    let cache_dir = root.path().join("cache");
    let lookup = MnistLookup::new()
        .env_dir(None)
        .bundled(root.path().join("no-copy-here"))
        .cache_dir(Some(&cache_dir))
        .mirrors(&[&server.url("mnist")]);
    let mut finished = 0;
    let found = lookup
        .locate(&mut |e| {
            if matches!(e, DownloadEvent::Finished { .. }) {
                finished += 1;
            }
        })
        .unwrap();
    assert_eq!(found.dir, cache_dir);
    assert_eq!(found.source, MnistSource::Downloaded);
    assert_eq!(finished, 4);
    assert_eq!(server.requests().len(), 4);
    // Next time the cache is found as it is.
    let again = lookup.find().unwrap().expect("the cache holds the files");
    assert_eq!(again.source, MnistSource::Cache);
    assert_eq!(
        lookup.load(&mut |e| panic!("{e:?}")).unwrap().test.len(),
        10_000
    );
}
