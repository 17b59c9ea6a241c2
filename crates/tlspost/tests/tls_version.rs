//! A server that speaks only TLS 1.1 (`openssl s_server -tls1_1`): the client, which speaks 1.2
//! and 1.3, must say that there is no version in common rather than fail vaguely.

mod common;

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{HOST, Pki};
use tlspost::{Client, Error, RequestSpec, TlsError, Trust};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_tls_1_1_server_is_refused_for_its_version() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let (chain, key) = &pki.good;
    let (cert, key_file, root) = (
        dir.path().join("cert.pem"),
        dir.path().join("key.pem"),
        dir.path().join("root.pem"),
    );
    std::fs::write(&cert, chain).expect("write chain");
    std::fs::write(&key_file, key).expect("write key");
    std::fs::write(&root, &pki.root.pem).expect("write root");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    // SECLEVEL=0: OpenSSL 3 refuses TLS 1.1 at its default security level.
    let server = Server(
        Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-tls1_1", "-www"])
            .args(["-cipher", "DEFAULT:@SECLEVEL=0"])
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server (apt-get install openssl)"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not listen");
        std::thread::sleep(Duration::from_millis(30));
    }

    let mut c = Client::builder()
        .trust(Trust::pinned_files(&[root]).expect("root"))
        .resolve(HOST, port, ([127, 0, 0, 1], port).into())
        .build()
        .expect("client");
    let url = format!("https://{HOST}:{port}/");
    match c.send(&RequestSpec::json(&url, b"{}".to_vec())) {
        Err(Error::Tls { error, .. }) => assert!(matches!(*error, TlsError::ProtocolVersion), "{error:?}"),
        other => panic!("expected a TLS version error, got {other:?}"),
    }
    let e = c.send(&RequestSpec::json(&url, b"{}".to_vec())).expect_err("refused");
    let text = e.to_string();
    assert!(text.contains("no TLS version in common"), "{text}");
    assert!(
        text.contains("TLS 1.2 and 1.3"),
        "the message says what this client speaks: {text}"
    );
    drop(server);
}
