//! HTTPS: with `api.tls_cert` and `api.tls_key` (PEM) the API and the page are served over
//! TLS (rustls); the files are read and checked once at start, so a missing file, a file
//! with no certificate or key, or a key that is not the certificate's stops the daemon
//! with the field named.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Why the certificate or key cannot be used; the message names the config field.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("api.tls_cert: cannot read {path}: {err}")]
    ReadCert { path: String, err: std::io::Error },
    #[error("api.tls_key: cannot read {path}: {err}")]
    ReadKey { path: String, err: std::io::Error },
    #[error("api.tls_cert: no PEM certificate in {0}")]
    NoCert(String),
    #[error("api.tls_key: no PEM private key (PKCS#8, PKCS#1 or SEC1) in {0}")]
    NoKey(String),
    #[error("api.tls_key: {0}")]
    Key(String),
    #[error("api.tls_key: the key in {key} is not the key of the certificate in {cert}")]
    Mismatch { cert: String, key: String },
}

/// Reads the certificate chain and key and builds the acceptor.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let (cp, kp) = (cert.display().to_string(), key.display().to_string());
    let cert_pem = std::fs::read(cert).map_err(|err| TlsError::ReadCert {
        path: cp.clone(),
        err,
    })?;
    let key_pem = std::fs::read(key).map_err(|err| TlsError::ReadKey {
        path: kp.clone(),
        err,
    })?;
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut &cert_pem[..])
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(TlsError::NoCert(cp));
    }
    let key_der: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut &key_pem[..])
        .ok()
        .flatten()
        .ok_or_else(|| TlsError::NoKey(kp.clone()))?;
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let signing = provider
        .key_provider
        .load_private_key(key_der.clone_key())
        .map_err(|e| TlsError::Key(e.to_string()))?;
    let certified = rustls::sign::CertifiedKey::new(certs.clone(), signing);
    if certified.keys_match().is_err() {
        return Err(TlsError::Mismatch { cert: cp, key: kp });
    }
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Key(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| TlsError::Key(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
