//! Webhook secrets at rest and on the wire, with `ring` (already in the
//! tree through rustls): secrets are sealed with ChaCha20-Poly1305 under
//! the server's secrets key before they reach the database, and each
//! delivery is signed with HMAC-SHA256.
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// The server's 32-byte secrets key (`IKAWAARI_SECRETS_KEY`). Its `Debug`
/// never shows it.
#[derive(Clone)]
pub struct SecretsKey([u8; 32]);

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsKey(…)")
    }
}

impl SecretsKey {
    pub fn random() -> SecretsKey {
        let mut k = [0u8; 32];
        // The system RNG failing is not recoverable.
        SystemRandom::new().fill(&mut k).expect("system RNG");
        SecretsKey(k)
    }

    /// 64 hex characters.
    pub fn from_hex(s: &str) -> Option<SecretsKey> {
        let bytes = hex::decode(s.trim()).ok()?;
        Some(SecretsKey(bytes.try_into().ok()?))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    fn aead(&self) -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&aead::CHACHA20_POLY1305, &self.0).expect("32-byte key"))
    }

    /// `v1:` + hex(nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        SystemRandom::new().fill(&mut nonce).expect("system RNG");
        let mut buf = plain.as_bytes().to_vec();
        self.aead()
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
            .expect("sealing cannot fail for small inputs");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        format!("v1:{}", hex::encode(out))
    }

    /// `None` when the value was not sealed under this key.
    pub fn open(&self, sealed: &str) -> Option<String> {
        let bytes = hex::decode(sealed.strip_prefix("v1:")?).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, rest) = bytes.split_at(12);
        let mut buf = rest.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let plain = self
            .aead()
            .open_in_place(nonce, Aad::empty(), &mut buf)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

/// Hex HMAC-SHA256 of `<t>.<body>` keyed with `secret` exactly as shown to
/// the merchant (`whsec_` included).
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(t.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    hex::encode(ctx.sign().as_ref())
}

/// The `Ikawaari-Signature` header: `t=…,v1=…` with one `v1` per secret.
pub fn signature_header(secrets: &[&str], t: i64, body: &[u8]) -> String {
    let mut h = format!("t={t}");
    for s in secrets {
        h.push_str(",v1=");
        h.push_str(&sign(s, t, body));
    }
    h
}

/// Standard Webhooks' `webhook-signature` (SPEC §14): `v1,<base64>` per
/// secret, space-separated, each HMAC-SHA256 of `<id>.<t>.<body>` keyed
/// with the secret's `whsec_<base64>` tail decoded — so the
/// `standardwebhooks` libraries verify a delivery with the endpoint's own
/// secret. A secret whose tail is not base64 signs nothing here.
pub fn standard_signature(secrets: &[&str], id: &str, t: i64, body: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    secrets
        .iter()
        .filter_map(|s| b64.decode(s.strip_prefix("whsec_").unwrap_or(s)).ok())
        .map(|key| {
            let key = hmac::Key::new(hmac::HMAC_SHA256, &key);
            let mut ctx = hmac::Context::with_key(&key);
            ctx.update(id.as_bytes());
            ctx.update(b".");
            ctx.update(t.to_string().as_bytes());
            ctx.update(b".");
            ctx.update(body);
            format!("v1,{}", b64.encode(ctx.sign().as_ref()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_webhooks_signature_matches_the_specification_example() {
        // The Standard Webhooks specification's own example.
        let sig = standard_signature(
            &["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn seal_round_trip_and_wrong_key() {
        let k = SecretsKey::random();
        let sealed = k.seal("whsec_abc");
        assert!(!sealed.contains("whsec"));
        assert_eq!(k.open(&sealed).as_deref(), Some("whsec_abc"));
        assert_eq!(SecretsKey::random().open(&sealed), None);
        assert_eq!(format!("{k:?}"), "SecretsKey(…)");
    }

    #[test]
    fn known_hmac() {
        // Python: hmac.new(b"whsec_x", b"1.{}", hashlib.sha256).hexdigest()
        let a = sign("whsec_x", 1, b"{}");
        assert_eq!(
            a,
            "36ee2f7498f0c1777d1312b2a7361947fe5ad31223be30d0c62421f4ca753401"
        );
        assert_ne!(a, sign("whsec_y", 1, b"{}"));
        assert_eq!(
            signature_header(&["a", "b"], 5, b"x")
                .matches("v1=")
                .count(),
            2
        );
    }
}
