//! A node's secret keys: an age X25519 identity (age-keygen format) and a minisign key
//! pair (minisign format). Files are 0600 from creation; with a passphrase, the age key is
//! stored passphrase-encrypted with age (scrypt) and the minisign key with minisign's own
//! scrypt-based encryption. Nothing here prints; `Debug` never shows a secret.
use crate::error::{Error, IoContext, Result};
use crate::home::{Home, atomic_write};
use age::secrecy::{ExposeSecret, SecretString};
use std::io::{Read, Write};
use std::str::FromStr;

/// The minisign half: a loaded secret key and its public key.
pub struct SigningKey {
    pub pk: minisign::PublicKey,
    sk: minisign::SecretKey,
}

impl SigningKey {
    pub fn secret(&self) -> &minisign::SecretKey {
        &self.sk
    }
    /// Base64 public key as printed by `minisign` (`RW…`).
    pub fn public_base64(&self) -> String {
        self.pk.to_base64()
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey {{ pk: {}, sk: <redacted> }}", self.pk.to_base64())
    }
}

/// Both secret keys of a node.
pub struct Keys {
    pub age: age::x25519::Identity,
    pub sign: SigningKey,
    /// Keys it signed and received with before its rotations (`keys/retired/<n>/`, `n` the
    /// position in its key history, 0 = its card's), oldest first: bundles and files
    /// encrypted to an old age key still decrypt, and a bundle for a peer not yet known to
    /// hold the `rekey` block is signed with the key that peer knows.
    pub retired: Vec<(usize, Keys)>,
    /// The age identity of `keys/next/` while a rotation is pending: the master encrypts to
    /// it as soon as it has bound it, before this node switched.
    pub next_age: Option<age::x25519::Identity>,
}

/// The three files of a key set, as written in `keys/` (or a subdirectory of it).
pub struct KeyFiles {
    pub age: Vec<u8>,
    pub minisign_key: Vec<u8>,
    pub minisign_pub: Vec<u8>,
}

impl KeyFiles {
    /// (file name, bytes) of each file.
    pub fn files(&self) -> [(&'static str, &[u8]); 3] {
        [
            ("age.key", &self.age),
            ("minisign.key", &self.minisign_key),
            ("minisign.pub", &self.minisign_pub),
        ]
    }
    /// Read the three files of a directory.
    pub fn read(dir: &std::path::Path) -> Result<KeyFiles> {
        let r = |n: &str| {
            let p = dir.join(n);
            crate::input::read_bounded(&p, 64 << 10, "key file")
        };
        Ok(KeyFiles {
            age: r("age.key")?,
            minisign_key: r("minisign.key")?,
            minisign_pub: r("minisign.pub")?,
        })
    }
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys {{ age: {}, sign: {:?} }}", self.age.to_public(), self.sign)
    }
}

/// Optional passphrase protection, and the scrypt work factor for the age key
/// (`None`: age's own calibration).
#[derive(Default)]
pub struct Protection {
    pub passphrase: Option<SecretString>,
    pub age_work_factor: Option<u8>,
}

impl Keys {
    pub fn age_recipient(&self) -> String {
        self.age.to_public().to_string()
    }

    /// Generate both keys in memory only (for in-memory simulations and tests).
    pub fn generate() -> Result<Keys> {
        let kp = minisign::KeyPair::generate_unencrypted_keypair()
            .map_err(|e| Error::Env(format!("minisign key generation failed: {e}")))?;
        Ok(Keys {
            age: age::x25519::Identity::generate(),
            sign: SigningKey { pk: kp.pk, sk: kp.sk },
            retired: Vec::new(),
            next_age: None,
        })
    }

    /// Generate both keys and write them into `keys/` (0600); with a passphrase the age
    /// key is age-encrypted (scrypt) and the minisign key minisign-encrypted.
    pub fn create(home: &Home, created: &str, prot: &Protection) -> Result<Keys> {
        let (keys, files) = Keys::generate_files(created, prot)?;
        let dir = home.keys_dir();
        for (name, bytes) in files.files() {
            atomic_write(&dir.join(name), bytes)?;
        }
        Ok(keys)
    }

    /// Generate both keys, and the bytes of their files (nothing written): protected
    /// like [`Keys::create`] protects them.
    pub fn generate_files(created: &str, prot: &Protection) -> Result<(Keys, KeyFiles)> {
        let gen_err = |e: minisign::PError| Error::Env(format!("minisign key generation failed: {e}"));
        let (pk, sk, sk_text) = match &prot.passphrase {
            None => {
                let kp = minisign::KeyPair::generate_unencrypted_keypair().map_err(gen_err)?;
                let text = kp
                    .sk
                    .to_box(Some("secfile node secret key"))
                    .map_err(gen_err)?
                    .into_string();
                (kp.pk, kp.sk, text)
            }
            Some(p) => {
                let pw = p.expose_secret().to_string();
                let kp = minisign::KeyPair::generate_encrypted_keypair(Some(pw.clone())).map_err(gen_err)?;
                let text = kp
                    .sk
                    .to_box(Some("secfile node secret key"))
                    .map_err(gen_err)?
                    .into_string();
                let sk = minisign::SecretKey::from_box(text.clone().into(), Some(pw)).map_err(gen_err)?;
                (kp.pk, sk, text)
            }
        };
        let keys = Keys {
            age: age::x25519::Identity::generate(),
            sign: SigningKey { pk, sk },
            retired: Vec::new(),
            next_age: None,
        };
        let plain = format!(
            "# created: {created}\n# public key: {}\n{}\n",
            keys.age_recipient(),
            keys.age.to_string().expose_secret()
        );
        let age_bytes = match prot.passphrase {
            None => plain.into_bytes(),
            Some(_) => encrypt_age_key(plain.as_bytes(), prot)?,
        };
        let pk_text = keys.sign.pk.to_box().map_err(gen_err)?.into_string();
        let files = KeyFiles {
            age: age_bytes,
            minisign_key: sk_text.into_bytes(),
            minisign_pub: pk_text.into_bytes(),
        };
        Ok((keys, files))
    }

    /// Load both keys from a home (and the retired ones, `keys/retired/<n>/`), decrypting
    /// them with the passphrase when they are encrypted.
    pub fn load(home: &Home, encrypted: bool, passphrase: Option<&SecretString>) -> Result<Keys> {
        let mut keys = Keys::load_dir(&home.keys_dir(), encrypted, passphrase)?;
        let rdir = home.keys_dir().join(RETIRED);
        if let Ok(rd) = std::fs::read_dir(&rdir) {
            let mut found: Vec<usize> = rd
                .flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
                .collect();
            found.sort_unstable();
            for n in found {
                let k = Keys::load_dir(&rdir.join(n.to_string()), encrypted, passphrase)?;
                keys.retired.push((n, k));
            }
        }
        let next = home.keys_dir().join(NEXT);
        if next.join("age.key").exists() {
            keys.next_age = Some(Keys::load_dir(&next, encrypted, passphrase)?.age);
        }
        Ok(keys)
    }

    /// A retired key set by its position in the key history, or the current one.
    pub fn by_position(&self, n: usize) -> &Keys {
        self.retired.iter().find(|(k, _)| *k == n).map_or(self, |(_, k)| k)
    }

    /// Every age identity held, the current one first (for decryption).
    pub fn age_identities(&self) -> Vec<&age::x25519::Identity> {
        std::iter::once(&self.age)
            .chain(self.next_age.as_ref())
            .chain(self.retired.iter().rev().map(|(_, k)| &k.age))
            .collect()
    }

    /// Load the key set of one directory (`keys/`, `keys/next/`, `keys/retired/<n>/`).
    pub fn load_dir(dir: &std::path::Path, encrypted: bool, passphrase: Option<&SecretString>) -> Result<Keys> {
        let age_path = dir.join("age.key");
        let age_raw = std::fs::read(&age_path).at(&age_path)?;
        let age_text = if encrypted {
            let Some(p) = passphrase else {
                return Err(Error::usage(format!(
                    "{}: the key is passphrase-protected: pass --passphrase-file",
                    age_path.display()
                )));
            };
            let dec = age::Decryptor::new(age::armor::ArmoredReader::new(&age_raw[..]))
                .map_err(|e| Error::rejected(age_path.display(), "malformed", format!("unreadable key: {e}")))?;
            let mut id = age::scrypt::Identity::new(p.clone());
            id.set_max_work_factor(30);
            let mut r = dec
                .decrypt(std::iter::once(&id as &dyn age::Identity))
                .map_err(|_| Error::rejected(age_path.display(), "bad-passphrase", "wrong passphrase"))?;
            let mut s = String::new();
            r.read_to_string(&mut s).at(&age_path)?;
            s
        } else {
            String::from_utf8(age_raw)
                .map_err(|_| Error::rejected(age_path.display(), "malformed", "key file is not text"))?
        };
        let secret_line = age_text
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
            .ok_or_else(|| Error::rejected(age_path.display(), "malformed", "no AGE-SECRET-KEY line"))?;
        let age = age::x25519::Identity::from_str(secret_line)
            .map_err(|e| Error::rejected(age_path.display(), "malformed", format!("bad age identity: {e}")))?;

        let sk_path = dir.join("minisign.key");
        let sk_text = std::fs::read_to_string(&sk_path).at(&sk_path)?;
        let sk_box = minisign::SecretKeyBox::from_string(&sk_text)
            .map_err(|e| Error::rejected(sk_path.display(), "malformed", format!("bad minisign key: {e}")))?;
        let sk = if encrypted {
            let Some(p) = passphrase else {
                return Err(Error::usage(format!(
                    "{}: the key is passphrase-protected: pass --passphrase-file",
                    sk_path.display()
                )));
            };
            minisign::SecretKey::from_box(sk_box, Some(p.expose_secret().to_string()))
                .map_err(|_| Error::rejected(sk_path.display(), "bad-passphrase", "wrong passphrase"))?
        } else {
            minisign::SecretKey::from_unencrypted_box(sk_box)
                .map_err(|e| Error::rejected(sk_path.display(), "malformed", format!("bad minisign key: {e}")))?
        };
        let pk_path = dir.join("minisign.pub");
        let pk_text = std::fs::read_to_string(&pk_path).at(&pk_path)?;
        let pk = minisign::PublicKeyBox::from_string(&pk_text)
            .and_then(|b| b.into_public_key())
            .map_err(|e| Error::rejected(pk_path.display(), "malformed", format!("bad minisign public key: {e}")))?;
        Ok(Keys {
            age,
            sign: SigningKey { pk, sk },
            retired: Vec::new(),
            next_age: None,
        })
    }
}

/// `keys/retired/`: the key sets of earlier positions of the key history.
pub const RETIRED: &str = "retired";
/// `keys/next/`: a member's new keys while its rekey request awaits the master's block.
pub const NEXT: &str = "next";

fn encrypt_age_key(plain: &[u8], prot: &Protection) -> Result<Vec<u8>> {
    let pass = prot.passphrase.clone().expect("called with a passphrase");
    let mut r = age::scrypt::Recipient::new(pass);
    if let Some(wf) = prot.age_work_factor {
        r.set_work_factor(wf);
    }
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient))
        .map_err(|e| Error::Env(format!("age key encryption failed: {e}")))?;
    let mut out = Vec::new();
    let res = age::armor::ArmoredWriter::wrap_output(&mut out, age::armor::Format::AsciiArmor)
        .and_then(|a| {
            let mut w = enc.wrap_output(a)?;
            w.write_all(plain)?;
            w.finish()
        })
        .and_then(|a| a.finish().map(|_| ()));
    res.map_err(|e| Error::Env(format!("age key encryption failed: {e}")))?;
    Ok(out)
}
