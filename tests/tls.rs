//! HTTPS: with `api.tls_cert`/`api.tls_key` the page, `/health` and the API are served over
//! TLS with a certificate the test makes (openssl, a CA of its own); a client that trusts
//! another CA is refused; the token is still enforced; a missing or mismatched key stops the
//! daemon at start with the field named (exit 2).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Daemon, fixture, free_port, wait_until};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, and a certificate for 127.0.0.1 signed by it, as a LAN box would have
/// (docs/https.md); plus a second CA that signed nothing of ours.
fn make_certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=test CA",
    ]);
    openssl(dir, &ca);
    let mut other = vec!["req", "-x509"];
    other.extend(ec);
    other.extend([
        "-keyout",
        "other-ca.key",
        "-out",
        "other-ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=other",
    ]);
    openssl(dir, &other);
    let mut csr = vec!["req", "-new"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "box.key",
        "-out",
        "box.csr",
        "-subj",
        "/CN=activityd box",
    ]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "box.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "box.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

fn config(api: u16, dir: &Path, key: &str) -> String {
    format!(
        "device_id = \"lan\"\n[api]\nbind = \"127.0.0.1:{api}\"\ntoken = \"t0k\"\ntls_cert = \"{}\"\ntls_key = \"{}\"\n\
         [mqtt]\nenabled = false\n[[cameras]]\nid = \"hall\"\nsource = \"landmarks:{}\"\nloop = true\n",
        dir.join("box.pem").display(),
        dir.join(key).display(),
        fixture("tug/test_00150_tug.jsonl").display()
    )
}

/// `curl` over HTTPS trusting `ca`: (exit code, HTTP status, headers + body).
fn curl(ca: &Path, url: &str, extra: &[&str]) -> (i32, String) {
    let out = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "20", "--cacert"])
        .arg(ca)
        .args(extra)
        .arg(url)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn the_page_and_api_are_served_over_https_with_the_token_enforced() {
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    let api = free_port();
    let d = Daemon::start(&config(api, dir.path(), "box.key"), &[]);
    let ca = dir.path().join("ca.pem");
    let base = format!("https://127.0.0.1:{api}");
    let mut last = (0, String::new());
    assert!(
        wait_until(Duration::from_secs(60), || {
            last = curl(&ca, &format!("{base}/health"), &[]);
            last.0 == 0 && last.1.starts_with("HTTP/1.1 200")
        }),
        "{last:?}\n{}",
        d.stderr()
    );
    assert!(last.1.contains("\"status\":\"healthy\""), "{}", last.1);

    // The page, with its policy against loading anything from elsewhere.
    let (code, page) = curl(&ca, &format!("{base}/"), &[]);
    assert_eq!(code, 0);
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.to_lowercase()
            .contains("content-security-policy: default-src 'self'; img-src 'none'"),
        "{page}"
    );
    assert!(page.contains("<html"), "{page}");
    let (_, js) = curl(&ca, &format!("{base}/page/app.js"), &[]);
    assert!(js.starts_with("HTTP/1.1 200"), "{js}");

    // Plain HTTP on the TLS port gets no answer.
    let plain = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .arg(format!("http://127.0.0.1:{api}/health"))
        .output()
        .unwrap();
    assert!(!plain.status.success() || plain.stdout.is_empty());

    // A client that trusts another CA refuses the box (curl: 60, peer certificate).
    let (code, out) = curl(
        &dir.path().join("other-ca.pem"),
        &format!("{base}/health"),
        &[],
    );
    assert_eq!(code, 60, "{out}");

    // The token is still needed where it was.
    let (_, r) = curl(&ca, &format!("{base}/tug/trials"), &[]);
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    let (_, r) = curl(
        &ca,
        &format!("{base}/tug/trials"),
        &["-H", "Authorization: Bearer t0k"],
    );
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    let (_, r) = curl(&ca, &format!("{base}/recent?token=t0k"), &[]);
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
}

#[test]
fn a_missing_or_mismatched_key_stops_the_daemon_with_the_field_named() {
    let dir = tempfile::tempdir().unwrap();
    make_certificates(dir.path());
    for (key, want) in [
        ("other-ca.key", "api.tls_key: the key in"),
        ("nowhere.key", "api.tls_key: cannot read"),
        ("box.csr", "api.tls_key: no PEM private key"),
    ] {
        let mut d = Daemon::start(&config(free_port(), dir.path(), key), &[]);
        let (status, _) = d
            .wait_exit(Duration::from_secs(60))
            .unwrap_or_else(|| panic!("still running with {key}"));
        assert_eq!(status.code(), Some(2), "{key}: {}", d.stderr());
        assert!(d.stderr().contains(want), "{key}: {}", d.stderr());
    }
    // Half a pair is a configuration error `check-config` names too.
    let cfg = config(free_port(), dir.path(), "box.key").replace("tls_key", "# tls_key");
    let mut d = Daemon::start(&cfg, &[]);
    let (status, _) = d.wait_exit(Duration::from_secs(60)).unwrap();
    assert_eq!(status.code(), Some(2));
    assert!(
        d.stderr()
            .contains("api.tls_key: must be set with api.tls_cert"),
        "{}",
        d.stderr()
    );
}
